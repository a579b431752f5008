"""The Celery app for production background work (Redis as broker).

Run: `celery -A reviewportal worker` and `celery -A reviewportal beat` (docs/operations.md).
Tasks are thin wrappers around service functions, which the embedded default runs on a timer
thread instead (reviewportal.timers) and tests call directly.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewportal.settings")

app = Celery("reviewportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
