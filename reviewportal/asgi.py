"""ASGI entry point: HTTP through Django (one hop to a pool of threads, reviewportal.handler),
websockets through Channels.

Every consumer derives from reviewportal.accounts.websocket.VerifiedConsumer, which refuses any
connection whose session is not signed in with both factors.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewportal.settings")
django.setup(set_prefix=False)  # loads the app registry before anything imports models

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry loaded above)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from annotations.consumers import ReviewerEventsConsumer  # noqa: E402
from escalations.consumers import DashboardConsumer  # noqa: E402
from reviewportal import timers  # noqa: E402
from reviewportal.handler import ThreadPoolHTTPHandler  # noqa: E402

timers.start()  # the embedded default's background work; a no-op unless RUN_TIMERS_IN_PROCESS

websocket_urlpatterns = [
    path("ws/reviewer/", ReviewerEventsConsumer.as_asgi()),
    path("ws/supervise/escalations/", DashboardConsumer.as_asgi()),
]

application = ProtocolTypeRouter(
    {
        "http": ThreadPoolHTTPHandler(threads=settings.HTTP_THREADS),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
