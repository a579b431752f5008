from django.core.management.base import BaseCommand
from tqdm import tqdm

from annotations import privacy


class Command(BaseCommand):
    help = (
        "Apply the retention settings once: audio AUDIO_RETENTION_DAYS after submit, transcripts "
        "TRANSCRIPT_RETENTION_DAYS after submit, never-reviewed clips UNREVIEWED_RETENTION_DAYS after arrival, "
        "escalated clips once their legal hold is over. Never touches a clip on legal hold. "
        "Production runs it hourly in Celery beat."
    )

    def handle(self, *args, **options):
        total = privacy.pending_purge_count()
        with tqdm(total=total, unit="clip", desc="purging", file=self.stderr._out, disable=None) as bar:
            counts = privacy.purge_expired(progress=bar.update)
        self.stdout.write(
            f"audio deleted {counts.audio_deleted}, transcripts deleted {counts.transcripts_deleted}, "
            f"unreviewed expired {counts.unreviewed_expired}, hold ended {counts.hold_ended}, held {counts.held}, "
            f"files retried {counts.files_retried}"
        )
