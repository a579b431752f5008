import json
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotations.ingest import IngestError, parse_metadata
from annotations.services import IngestOutcome, clip_ingest
from reviewportal.audit import trail


class Command(BaseCommand):
    help = (
        "Ingest clips from a JSON Lines manifest: one object a line with source_id, audio (a path "
        "relative to the manifest), account_id, first_name, device_serial, locale, asr_text, "
        "recorded_at, human_review_opt_out and optionally priority. Each line is its own "
        "transaction; re-running a manifest ingests nothing twice. Exits 1 if any line was rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("manifest", type=Path)
        parser.add_argument(
            "--progress",
            choices=["auto", "always", "never"],
            default="auto",
            help="the progress bar on stderr: when stderr is a terminal (auto), always, or never",
        )

    def handle(self, *args, manifest: Path, progress: str = "auto", **options):
        try:
            lines = manifest.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{manifest}: cannot read: {error}") from None
        counts: Counter[str] = Counter()
        rejections: list[str] = []
        disable = {"auto": None, "always": False, "never": True}[progress]
        progress = tqdm(total=len(lines), unit="line", desc=manifest.name, file=self.stderr._out, disable=disable)
        with progress, trail.as_command("ingest_clips"):
            for number, line in enumerate(lines, start=1):
                progress.update()
                if not line.strip():
                    continue
                try:
                    outcome = self._ingest_line(line, manifest.parent)
                except IngestError as error:
                    counts["rejected"] += 1
                    rejections.append(f"{manifest}:{number}: {error.field}: {error.message}")
                except Exception as error:  # noqa: BLE001  one bad line must not stop the rest; its transaction rolled back
                    counts["rejected"] += 1
                    rejections.append(
                        f"{manifest}:{number}: internal error ({type(error).__name__}); nothing was stored"
                    )
                else:
                    counts[outcome] += 1
                progress.set_postfix(counts, refresh=False)
        self.stdout.write(
            f"{manifest}: ingested {counts[IngestOutcome.INGESTED]}, duplicate {counts[IngestOutcome.DUPLICATE]}, "
            f"opted out {counts[IngestOutcome.OPTED_OUT]}, rejected {counts['rejected']}"
        )
        for rejection in rejections:
            self.stdout.write(f"  rejected {rejection}")
        if rejections:
            raise CommandError(f"{len(rejections)} line(s) rejected", returncode=1)

    def _ingest_line(self, line: str, base: Path) -> str:
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise IngestError("line", f"not valid JSON ({error.msg} at column {error.colno})") from None
        metadata = parse_metadata(data)
        audio = data.get("audio")
        if not isinstance(audio, str) or not audio:
            raise IngestError("audio", "required: a path relative to the manifest")
        path = base / audio
        # An opted-out clip is dropped unread, so its file need not even exist.
        if not metadata.human_review_opt_out and not path.is_file():
            raise IngestError("audio", f"file not found: {audio}")
        return clip_ingest(metadata=metadata, audio_path=path, audio_name=audio).outcome
