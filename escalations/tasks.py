from celery import shared_task

from escalations import services


@shared_task(name="escalations.tasks.enforce_deadlines")
def enforce_deadlines() -> int:
    """Re-assign cases whose acknowledgement deadline passed (beat runs it every few seconds)."""
    return services.enforce_deadlines()
