"""ASGI entry point: HTTP through Django, websockets through Channels.

Every consumer derives from reviewportal.accounts.websocket.VerifiedConsumer, which refuses any
connection whose session is not signed in with both factors.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewportal.settings")
django_asgi_app = get_asgi_application()  # loads the app registry before anything imports models

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry loaded above)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from annotations.consumers import ReviewerEventsConsumer  # noqa: E402
from escalations.consumers import DashboardConsumer  # noqa: E402
from reviewportal import timers  # noqa: E402

timers.start()  # the embedded default's background work; a no-op unless RUN_TIMERS_IN_PROCESS

websocket_urlpatterns = [
    path("ws/reviewer/", ReviewerEventsConsumer.as_asgi()),
    path("ws/supervise/escalations/", DashboardConsumer.as_asgi()),
]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
