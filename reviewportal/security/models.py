from django.conf import settings
from django.db import models
from django.utils import timezone


class VolumeLimitHit(models.Model):
    """Someone asked for more audio or clips than a person can listen to; kept for supervisors.

    One row per person, kind and window, however many requests that window refused.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32)
    limit = models.PositiveIntegerField()
    window_seconds = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.kind} over {self.limit}/{self.window_seconds}s by user {self.user_id}"
