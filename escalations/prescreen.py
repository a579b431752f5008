"""Pre-screen at ingest: does the ASR hypothesis sound like someone in distress?

Per-language phrase lists live in escalations/data/distress_phrases.json. A phrase matches on
whole words, in order; a negation word up to NEGATION_WINDOW words before it cancels the match.
A hit marks the clip "possible distress" (content warning, reduced starting volume, raised
priority); it never opens a case on its own: only a person who listened does that.
"""

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PHRASES_FILE = Path(__file__).resolve().parent / "data" / "distress_phrases.json"
NEGATION_WINDOW = 3
WORD = re.compile(r"[\w']+|\d+")


@dataclass(frozen=True)
class Hit:
    phrase: str
    language: str

    @property
    def reason(self) -> str:
        return f'phrase "{self.phrase}" ({self.language})'


@dataclass(frozen=True)
class _Language:
    negations: frozenset[str]
    phrases: tuple[tuple[str, ...], ...]


def _words(text: str) -> list[str]:
    return WORD.findall(text.casefold().replace("’", "'").replace("-", " "))


@cache
def _languages() -> dict[str, _Language]:
    raw = json.loads(PHRASES_FILE.read_text(encoding="utf-8"))
    return {
        language: _Language(
            negations=frozenset(entry["negations"]),
            phrases=tuple(sorted({tuple(_words(phrase)) for phrase in entry["phrases"]}, key=len, reverse=True)),
        )
        for language, entry in raw.items()
        if not language.startswith("_")
    }


def screen(text: str, locale: str) -> Hit | None:
    """The first distress phrase in `text` (by position) for the locale's language, unless negated; else None."""
    language = locale.split("-")[0].casefold()
    rules = _languages().get(language)
    if rules is None or not text:
        return None
    words = _words(text)
    for start in range(len(words)):
        for phrase in rules.phrases:  # longest first, so the fullest phrase at this word wins
            if tuple(words[start : start + len(phrase)]) != phrase:
                continue
            before = words[max(0, start - NEGATION_WINDOW) : start]
            if not rules.negations.intersection(before):
                return Hit(" ".join(phrase), language)
    return None
