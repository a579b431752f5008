from celery import shared_task

from annotations import services


@shared_task(name="annotations.tasks.expire_leases")
def expire_leases() -> int:
    """Return clips of overdue leases to the queue even when nobody claims (beat: every minute)."""
    total = 0
    while expired := services.lease_expire_overdue():
        total += expired
    return total
