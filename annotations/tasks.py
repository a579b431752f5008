from celery import shared_task

from annotations import services


@shared_task(name="annotations.tasks.expire_leases")
def expire_leases() -> int:
    """Return clips of overdue leases to the queue even when nobody claims (beat: every minute)."""
    total = 0
    while expired := services.lease_expire_overdue():
        total += expired
    return total


@shared_task(name="annotations.tasks.purge_expired")
def purge_expired() -> dict:
    """Apply the retention settings (beat: hourly). Legal holds are never touched."""
    from dataclasses import asdict

    from annotations.privacy import purge_expired as run

    return asdict(run())
