"""Generate reviewportal's demo recordings and the manifests that describe them.

Speaks ~36 short voice-assistant requests with espeak-ng (several voices and languages, a few
dictated messages, a few half-overheard conversations, three that sound like someone in distress),
mixes faint room noise into some, normalises them to 16 kHz mono and encodes them as Ogg Opus,
FLAC, WAV or MP3. Writes `manifest.jsonl` for them, and `bad_manifest.jsonl` plus a few broken
files to show the ingest error summary.

The output is committed, so the demo runs without a speech engine; run this only to change it:

    python3 demo/make_clips.py      # needs the Debian packages espeak-ng, sox, ffmpeg

Everything random comes from one seeded generator and the encoders run in bit-exact mode, so a
rerun on the same package versions reproduces the same bytes.
"""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

SEED = 20261125
HERE = Path(__file__).resolve().parent
CLIPS_DIR = HERE / "clips"
MANIFEST = HERE / "manifest.jsonl"
BAD_MANIFEST = HERE / "bad_manifest.jsonl"

SAMPLE_RATE = 16000
MONO_16K = ["-r", str(SAMPLE_RATE), "-c", "1", "-b", "16"]
MIN_SECONDS = 1.5
MAX_SECONDS = 25.5
# A fixed "now" rather than today's date, so that regenerating does not rewrite every timestamp.
RECORDED_BEFORE = datetime(2026, 11, 25, tzinfo=UTC)

# Bit-exact mode keeps ffmpeg's version string and a random Ogg stream serial out of the files.
FFMPEG_BITEXACT = ["-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1"]
ENCODER_ARGS = {
    # libopus in VoIP mode suits narrow-band speech; 24 kbit/s keeps the folder small.
    "opus": ["-c:a", "libopus", "-b:a", "24k", "-application", "voip"],
    "flac": ["-c:a", "flac", "-compression_level", "8"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "32k"],
}


@dataclass(frozen=True)
class Household:
    """One fake upstream account: who owns it, where it is, which devices it has."""

    key: str
    first_name: str
    locale: str
    utc_offset_hours: int
    device_count: int = 1


@dataclass(frozen=True)
class Speech:
    """One stretch of speech. `far` ones sound like someone across the room."""

    voice: str
    text: str
    far: bool = False
    pitch: int | None = None


@dataclass(frozen=True)
class Clip:
    """One recording: who made it, what was said, what the recogniser heard, how it is stored."""

    household: str
    parts: tuple[Speech, ...]
    asr_text: str
    fmt: str = "opus"
    # brown / pink: room and fan noise; hum50 / hum60: mains hum from an appliance.
    noise: str | None = None
    # Speech mixed underneath the whole clip, e.g. a television or people talking.
    under: Speech | None = None
    priority: int = 0
    opted_out: bool = False


# The ISO offsets are what these places use in late November (no summer time).
HOUSEHOLDS = [
    Household("us-1", "Priya", "en-US", -5, device_count=2),
    Household("us-2", "Oluwaseun", "en-US", -6),
    Household("us-3", "Darnell", "en-US", -8),
    Household("us-4", "Kenji", "en-US", -7),
    Household("gb-1", "Aisling", "en-GB", 0),
    Household("gb-2", "Fatima", "en-GB", 0, device_count=2),
    Household("gb-3", "Rhys", "en-GB", 0),
    Household("gb-4", "Callum", "en-GB", 0),
    Household("de-1", "Margit", "de-DE", 1),
    Household("de-2", "Tomasz", "de-DE", 1),
    Household("fr-1", "Élodie", "fr-FR", 1),
    Household("es-1", "Inés", "es-ES", 1),
]

# espeak-ng 1.51 silently drops a +variant on "en-gb" and "fr-fr"; "en" and "fr" are the same
# voices and honour it.
GB, GB_F2, GB_F3, GB_M3 = "en", "en+f2", "en+f3", "en+m3"
US, US_F2, US_F3, US_M3, US_M7 = "en-us", "en-us+f2", "en-us+f3", "en-us+m3", "en-us+m7"
SCOT, SCOT_F2 = "en-gb-scotland", "en-gb-scotland+f2"
DE, DE_F2, DE_M7 = "de", "de+f2", "de+m7"
FR, FR_F3, FR_M3 = "fr", "fr+f3", "fr+m3"
ES_F2, ES_M3 = "es+f2", "es+m3"


def said(voice: str, text: str, **options) -> tuple[Speech, ...]:
    return (Speech(voice, text, **options),)


# asr_text is what a recogniser might have produced: some lines carry deliberate mistakes
# ("time" for "timer", "jars" for "jazz") so that reviewers have something to correct.
CLIPS = [
    # 1
    Clip(
        "us-1",
        said(US_F2, "What's the weather tomorrow?"),
        "what's the weather tomorrow",
    ),
    Clip(
        "us-1",
        said(US_F2, "Set a timer for ten minutes."),
        "set a time for ten minutes",
        fmt="wav",
    ),
    Clip(
        "us-1",
        said(US_F3, "Play the dinosaur song again!", pitch=88),
        "play the dinosaur song again",
        noise="brown",
    ),
    Clip(
        "us-1",
        said(
            US_F2,
            "Send a message to Mark. Hi Mark, I'm running about twenty minutes late because the "
            "school pickup took forever. Can you start the oven at six and put the lasagna in on "
            "the middle shelf? Don't forget the kids have swimming tomorrow morning. Oh, and the "
            "plumber called, he can come on Tuesday between nine and eleven, so one of us needs "
            "to be home. Love you, see you soon.",
        ),
        "send a message to mark hi mark i'm running about twenty minutes late because the school "
        "pick up took forever can you start the oven at six and put the lasagne in on the middle "
        "shelf don't forget the kids of swimming tomorrow morning oh and the plumber called he can "
        "come on tuesday between nine and a level so one of us needs to be home love you see you "
        "soon",
        noise="pink",
        priority=5,
    ),
    # 5
    Clip(
        "us-2",
        said(US_M3, "Play some jazz in the kitchen."),
        "play some jars in the kitchen",
        fmt="mp3",
        noise="hum60",
    ),
    Clip(
        "us-2",
        said(US_F3, "Add milk to the shopping list."),
        "add milk to the shopping list",
        fmt="flac",
    ),
    Clip(
        "us-2",
        (
            Speech(
                US_M3,
                "No, I told you, the game starts at eight. We have plenty of time.",
                far=True,
            ),
            Speech(US_F3, "Turn off the living room lights."),
        ),
        "i told you the game starts a date we have plenty of time turn off the living room lights",
        noise="brown",
    ),
    Clip("us-2", said(US_M3, "Stop the music."), "stop the music", fmt="wav"),
    # 9: the three clips of a household that opted out of human review
    Clip(
        "us-3",
        said(US_M7, "Remind me to call the dentist at nine."),
        "remind me to call the dennis at nine",
        opted_out=True,
    ),
    Clip(
        "us-3",
        said(US_M7, "What's on my calendar for Friday?"),
        "what's on my calendar for friday",
        noise="hum60",
        opted_out=True,
    ),
    Clip(
        "us-3",
        said(
            US_M7,
            "Take a note. Things to bring to the cabin: sleeping bags, the blue cooler, batteries "
            "for the lantern, dog food, the first aid kit, and the charger for the speaker. "
            "Also ask Jerome if he still has the fishing rods.",
        ),
        "take a note things to bring to the cabin sleeping bags the blue color batteries for the "
        "lantern dog food the first aid kit and the charger for the speaker also ask germ if he "
        "still has the fishing rods",
        noise="pink",
        opted_out=True,
    ),
    Clip(
        "us-4",
        said(US, "How long do I boil an egg?"),
        "how long do i boil an egg",
        fmt="flac",
    ),
    # 13
    Clip(
        "us-4",
        said(US_M3, "Help me find a recipe for pancakes."),
        "help me find a recipe for pancakes",
        fmt="mp3",
    ),
    Clip(
        "us-4",
        said(US_M3, "Call an ambulance! He is not breathing. Call an ambulance now!"),
        "call an ambulance he is not breathing call an ambulance now",
        noise="brown",
        priority=5,
    ),
    Clip(
        "gb-1",
        said(GB_F3, "What time does the bakery on Mill Road close?"),
        "what time does the bakery on mill road close",
    ),
    Clip(
        "gb-1",
        said(GB_F3, "Turn the heating up to twenty one degrees."),
        "turn the heating up to twenty one decrees",
        fmt="wav",
    ),
    # 17
    Clip(
        "gb-1",
        said(GB_F2, "Help me. Please, somebody help!"),
        "help me please somebody help",
        noise="brown",
    ),
    Clip(
        "gb-2",
        said(GB_F2, "Set an alarm for half six tomorrow."),
        "set an alarm for half six tomorrow",
        fmt="flac",
    ),
    Clip(
        "gb-2",
        said(GB_F2, "Play Radio Four."),
        "play radio for the latest from westminster",
        under=Speech(
            GB_M3,
            "And now the latest from Westminster, where ministers met this morning.",
            far=True,
        ),
        noise="pink",
    ),
    Clip(
        "gb-2",
        said(
            GB_F2,
            "Send an email to the school office. Dear Mrs Okafor, Amira will be absent on "
            "Thursday because she has a hospital appointment in the morning. She should be back "
            "in class by lunchtime. Please let me know if she needs to catch up on any homework. "
            "Kind regards, Fatima.",
        ),
        "send an email to the school office dear mrs oak of her amir a will be absent on thursday "
        "because she has a hospital appointment in the morning she should be back in class by "
        "lunchtime please let me know if she needs to catch up on any homework kind regards fatima",
        noise="brown",
    ),
    # 21
    Clip(
        "gb-3",
        said(GB, "What's the score in the Cardiff match?"),
        "what's the score in the cardiff match",
        noise="hum50",
    ),
    Clip(
        "gb-3",
        said(GB_F2, "Stop hurting me. Please stop. Stop hurting me."),
        "stop hurting me please stop stop hurting me",
        noise="pink",
    ),
    Clip(
        "gb-4",
        said(SCOT, "What's the weather in Inverness tomorrow?"),
        "what's the weather in inverness tomorrow",
    ),
    Clip(
        "gb-4",
        said(SCOT_F2, "Add porridge oats and bin bags to the shopping list."),
        "add porridge oats and bean bags to the shopping list",
        priority=5,
    ),
    # 25
    Clip(
        "gb-4",
        (
            Speech(SCOT, "Set a timer for twenty minutes."),
            Speech(
                SCOT_F2,
                "Callum, did you feed the cat? And can you take the bins out before it gets "
                "dark? It's supposed to rain all evening.",
                far=True,
            ),
        ),
        "set a timer for twenty minutes callum did you feed the cat and can you take the bins out before it gets dark",
        noise="brown",
    ),
    Clip(
        "de-1",
        said(DE_F2, "Wie wird das Wetter morgen in Hamburg?"),
        "wie wird das wetter morgen in hamburg",
    ),
    Clip(
        "de-1",
        said(
            DE_F2,
            "Schreib eine Nachricht an Jonas. Hallo Jonas, ich komme heute etwas später nach "
            "Hause, weil der Zug Verspätung hat. Kannst du bitte die Kinder vom Sport abholen "
            "und noch Brot kaufen? Danke, bis später.",
        ),
        "schreib eine nachricht an jona hallo jona ich komme heute etwas später nach hause weil "
        "der zug verspätung hat kannst du bitte die kinder vom sport abholen und noch brot laufen "
        "danke bis später",
        noise="pink",
    ),
    Clip(
        "de-2",
        said(DE, "Stell einen Wecker für sechs Uhr dreißig."),
        "stell einen wecker für sechs uhr dreißig",
        fmt="flac",
    ),
    # 29
    Clip(
        "de-2",
        said(DE_M7, "Spiel etwas ruhige Musik im Wohnzimmer."),
        "spiel etwas ruhige musik im wohn zimmer",
        noise="hum50",
    ),
    Clip(
        "fr-1",
        said(FR_F3, "Quel temps fera-t-il demain à Lyon?"),
        "quel temps fera-t-il demain à lyon",
    ),
    Clip(
        "fr-1",
        said(FR_F3, "Mets un minuteur de cinq minutes."),
        "mets un minuteur de cinq minute",
        noise="brown",
        priority=5,
    ),
    Clip(
        "fr-1",
        said(FR, "Ajoute du pain et des œufs à la liste de courses."),
        "ajoute du pain et des eux à la liste de courses",
        fmt="wav",
    ),
    # 33
    Clip(
        "fr-1",
        (
            Speech(FR_F3, "Tu as vu mes clés? Je pars dans cinq minutes.", far=True),
            Speech(FR_M3, "Allume la lumière de la cuisine."),
        ),
        "tu as vu mes clés je pars dans cinq minutes allume la lumière de la cuisine",
        fmt="mp3",
    ),
    Clip(
        "es-1",
        said(ES_M3, "Pon música flamenca en la cocina."),
        "pon música flamenca en la cocina",
    ),
    Clip(
        "es-1",
        said(ES_F2, "¿Qué tiempo hará mañana en Sevilla?"),
        "que tiempo hará mañana en sevilla",
        noise="pink",
    ),
    Clip(
        "es-1",
        said(
            ES_F2,
            "Recuérdame llamar a mi madre a las ocho, y comprar flores para su cumpleaños el sábado por la mañana.",
        ),
        "recuérdame llamar a mi madre a las ocho y comprar flores para su cumpleaños el sábado por la mañana",
        noise="hum50",
    ),
]


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def sox(*args: str) -> None:
    # -R seeds sox's own noise and dither generators with a constant, so reruns match.
    run("sox", "-R", "-V1", *args)


def seconds(wav: Path) -> float:
    return float(run("soxi", "-D", str(wav)))


def speak(speech: Speech, rng: random.Random, out: Path) -> Path:
    """Speak one stretch of text into a 16 kHz mono WAV peaking at -3 dBFS."""
    raw = out.with_suffix(".raw.wav")
    speed = rng.randint(145, 185)
    pitch = speech.pitch if speech.pitch is not None else rng.randint(30, 70)
    voice = ["-v", speech.voice, "-s", str(speed), "-p", str(pitch)]
    run("espeak-ng", *voice, "-w", str(raw), speech.text)
    # espeak-ng adds silence of its own; trimming it (start, then reversed end) leaves render()
    # alone to decide how much quiet surrounds the words.
    trim_silence = ["silence", "1", "0.02", "0.5%", "reverse"] * 2
    effects = ["remix", "1", *trim_silence, "rate", str(SAMPLE_RATE), "norm", "-3"]
    if speech.far:
        # Muffled, roomy and quieter: a voice from the next room rather than at the device.
        effects += ["lowpass", "1800", "reverb", "40", "gain", "-12"]
    sox(str(raw), "-b", "16", str(out), *effects)
    return out


def join_with_pauses(parts: list[Path], rng: random.Random, out: Path) -> Path:
    padded = []
    for index, part in enumerate(parts):
        pause = 0 if index == len(parts) - 1 else round(rng.uniform(0.3, 0.9), 2)
        target = part.with_suffix(".padded.wav")
        sox(str(part), str(target), "pad", "0", str(pause))
        padded.append(str(target))
    sox(*padded, str(out))
    return out


def mix(near: Path, far: Path, out: Path) -> Path:
    # -v 1 on each input: sox would otherwise halve both to avoid clipping; norm comes later.
    sox("-m", "-v", "1", str(near), "-v", "1", str(far), str(out))
    return out


def room_noise(kind: str, length: float, rng: random.Random, out: Path) -> Path:
    """Faint noise of the given kind, `length` seconds long, roughly 25-40 dB under the speech."""
    if kind in ("brown", "pink"):
        # sox's noise is seeded the same on every run; starting at a random point keeps clips from
        # sharing one noise pattern.
        skip = round(rng.uniform(0, 20), 2)
        synth = ["synth", str(length + skip), f"{kind}noise", "trim", str(skip)]
        level = round(rng.uniform(0.02, 0.045), 3)
    else:
        # A low-passed square wave has the buzzy harmonics of a transformer, not a pure tone.
        synth = ["synth", str(length), "square", kind.removeprefix("hum"), "lowpass", "500"]
        level = round(rng.uniform(0.01, 0.02), 3)
    sox("-n", *MONO_16K, str(out), *synth, "vol", str(level))
    return out


def render(clip: Clip, rng: random.Random, work: Path) -> Path:
    """Build one clip as a finished 16 kHz mono 16-bit WAV in `work`."""
    parts = [speak(speech, rng, work / f"part-{i}.wav") for i, speech in enumerate(clip.parts)]
    speech = join_with_pauses(parts, rng, work / "speech.wav")

    # Recordings start a moment before the words and run on a little after them.
    lead, tail = round(rng.uniform(0.1, 0.5), 2), round(rng.uniform(0.15, 0.7), 2)
    tail = max(tail, MIN_SECONDS - seconds(speech) - lead)
    framed = work / "framed.wav"
    sox(str(speech), str(framed), "pad", str(lead), str(tail))

    if clip.under:
        under = speak(clip.under, rng, work / "under.wav")
        framed = mix(framed, under, work / "with-under.wav")
    if clip.noise:
        noise = room_noise(clip.noise, seconds(framed), rng, work / "noise.wav")
        framed = mix(framed, noise, work / "noisy.wav")

    final = work / "final.wav"
    # -2 dBFS rather than full scale: lossy decoders overshoot a little and would clip.
    sox(str(framed), *MONO_16K, "-e", "signed-integer", str(final), "norm", "-2")
    length = seconds(final)
    if not MIN_SECONDS <= length <= MAX_SECONDS:
        raise ValueError(f"{clip.asr_text[:40]!r} is {length:.2f} s; adjust its text")
    return final


def encode(wav: Path, dest: Path, fmt: str) -> None:
    if fmt == "wav":
        shutil.copyfile(wav, dest)
        return
    ffmpeg = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav)]
    run(*ffmpeg, *ENCODER_ARGS[fmt], *FFMPEG_BITEXACT, str(dest))


def fake_account_id(rng: random.Random) -> str:
    return f"ACCT-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"


def fake_serial(rng: random.Random) -> str:
    # No I or O: on a sticker they read as 1 and 0.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    return "-".join("".join(rng.choice(alphabet) for _ in range(4)) for _ in range(3))


def fake_recorded_at(household: Household, rng: random.Random) -> str:
    """A moment in the week before RECORDED_BEFORE, at a waking hour in the household's zone."""
    zone = timezone(timedelta(hours=household.utc_offset_hours))
    day = (RECORDED_BEFORE - timedelta(days=rng.randint(1, 7))).date()
    hour, minute, second = rng.randint(7, 22), rng.randint(0, 59), rng.randint(0, 59)
    moment = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone)
    return moment.isoformat()


def identities(rng: random.Random) -> dict[str, dict]:
    """Fake account number and device serials for each household."""
    return {
        household.key: {
            "household": household,
            "account_id": fake_account_id(rng),
            "serials": [fake_serial(rng) for _ in range(household.device_count)],
        }
        for household in HOUSEHOLDS
    }


def manifest_line(number: int, audio: str, clip: Clip, identity: dict, rng: random.Random) -> dict:
    household = identity["household"]
    return {
        "source_id": f"demo-{number:04d}",
        "audio": audio,
        "account_id": identity["account_id"],
        "first_name": household.first_name,
        "device_serial": rng.choice(identity["serials"]),
        "locale": household.locale,
        "asr_text": clip.asr_text,
        "recorded_at": fake_recorded_at(household, rng),
        "human_review_opt_out": clip.opted_out,
        "priority": clip.priority,
    }


def remove_old_output() -> None:
    CLIPS_DIR.mkdir(exist_ok=True)
    for pattern in ("clip-*", "bad-*"):
        for old in CLIPS_DIR.glob(pattern):
            old.unlink()


def write_jsonl(path: Path, lines: list[dict | str]) -> None:
    text = "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")


def data_chunk(wav: bytes) -> tuple[int, int]:
    """Offset and declared size of a RIFF WAV's data chunk."""
    offset = 12
    while offset + 8 <= len(wav):
        chunk_id, size = struct.unpack_from("<4sI", wav, offset)
        if chunk_id == b"data":
            return offset + 8, size
        offset += 8 + size + (size & 1)
    raise ValueError("no data chunk")


def write_broken_files(rng: random.Random, work: Path) -> None:
    """Files that ingest must refuse, each for a different reason."""
    wav = speak(Speech(US, "Broken on purpose."), rng, work / "broken.wav")
    # A WAV wearing a .flac name. libsndfile sniffs the content and reads it happily, so only a
    # check of the detected format against the name catches it.
    shutil.copyfile(wav, CLIPS_DIR / "bad-not-really.flac")
    (CLIPS_DIR / "bad-empty.wav").write_bytes(b"")
    # The header still promises every sample; the file ends halfway through them. libsndfile
    # opens it without error and returns the frames that are there, so only comparing the
    # header's data size with the file's catches it.
    content = wav.read_bytes()
    start, size = data_chunk(content)
    (CLIPS_DIR / "bad-truncated.wav").write_bytes(content[: start + size // 2])


def bad_manifest_lines(good: list[dict]) -> list[dict | str]:
    """Two good lines around six that ingest must reject, each for a different reason."""

    def variant(source_id: str, base: dict, **changes) -> dict:
        return {**base, "source_id": source_id, **changes}

    missing_locale = variant("demo-bad-0003", good[2])
    del missing_locale["locale"]
    # What a writer that died mid-line leaves behind.
    torn_write = json.dumps(variant("demo-bad-0002", good[1]), ensure_ascii=False)[:90]
    return [
        variant("demo-bad-0001", good[0]),
        torn_write,
        missing_locale,
        variant("demo-bad-0004", good[3], audio="clips/clip-404.opus"),
        variant("demo-bad-0005", good[4], audio="clips/bad-not-really.flac"),
        variant("demo-bad-0006", good[6], audio="clips/bad-empty.wav"),
        variant("demo-bad-0007", good[7], audio="clips/bad-truncated.wav"),
        variant("demo-bad-0008", good[5]),
    ]


def require_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "sox", "soxi", "ffmpeg") if not shutil.which(tool)]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: apt-get install espeak-ng sox ffmpeg")


def main() -> None:
    require_tools()
    rng = random.Random(SEED)
    households = identities(rng)
    remove_old_output()

    lines = []
    with tempfile.TemporaryDirectory(prefix="demo-clips-") as tmp:
        for number, clip in enumerate(CLIPS, start=1):
            name = f"clip-{number:03d}.{clip.fmt}"
            work = Path(tmp) / f"{number:03d}"
            work.mkdir()
            encode(render(clip, rng, work), CLIPS_DIR / name, clip.fmt)
            lines.append(manifest_line(number, f"clips/{name}", clip, households[clip.household], rng))
            print(f"[{number}/{len(CLIPS)}] {name}", flush=True)
        broken = Path(tmp) / "broken"
        broken.mkdir()
        write_broken_files(rng, broken)

    write_jsonl(MANIFEST, lines)
    write_jsonl(BAD_MANIFEST, bad_manifest_lines(lines))


if __name__ == "__main__":
    main()
