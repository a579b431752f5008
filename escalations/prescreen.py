"""Pre-screen at ingest: does the ASR hypothesis sound like someone in distress?

Phrase lists live in a data file (DISTRESS_PHRASES_FILE, by default
escalations/data/distress_phrases.json), keyed by language ("en") and optionally by locale
("en-GB"). A clip's locale is looked up as RFC 4647 "lookup" does: "en-GB" uses the entries for
"en-GB" and "en" together (a locale entry adds to its language's, e.g. "call 999"); "en-US" with
no entry of its own uses "en"; a language with no entry gets no pre-screen.

A phrase matches on whole words, in order, across punctuation ("Stop. Hurting me!"). A hit marks
the clip "possible distress" (content warning, reduced starting volume, raised priority); it
never opens a case on its own: only a person who listened does that.

Negation. A missed distress clip costs far more than a false warning, so a negation cancels a
match only when all of these hold:
- the phrase is listed as "negatable" for the language: an opt-in, for phrases where a preceding
  negation reverses the meaning ("don't call an ambulance"). Every other phrase is never
  cancelled, including "call the police" (being told not to call the police is a warning sign in
  itself) and every phrase that contains a negation ("don't touch me", "no puedo respirar"): the
  loader refuses a negatable phrase with a negation word in it;
- a negation from the list ends on the word right before the phrase, with no punctuation between
  them ("No! Don't…" and "please no, let me go" are exclamations, not negations);
- the negation is not said twice ("no no llamen a una ambulancia" is someone shouting).
English "no" is not a negation here at all: it negates nouns ("no need to" is listed), never the
verbs the phrases start with, so "no please call the police" is a hit.
"""

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Words (letters, digits, apostrophes) and the punctuation that ends a clause between them.
TOKEN = re.compile(r"[\w']+|[.!?;:,…—–¡¿]")
ENTRY_KEYS = {"negations", "negatable", "phrases"}
LIST_KEY = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

Words = tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    phrase: str
    language: str  # the list the phrase came from: "en", or a locale's own additions ("en-GB")

    @property
    def reason(self) -> str:
        return f'phrase "{self.phrase}" ({self.language})'


@dataclass(frozen=True)
class Rules:
    """One locale's merged lists, ready to match."""

    phrases: tuple[tuple[Words, str], ...]  # (words, list key), longest first
    negations: frozenset[Words]
    negatable: frozenset[Words]


def _normalised(text: str) -> str:
    return text.casefold().replace("’", "'").replace("-", " ")


def _tokens(text: str) -> tuple[list[str], set[int]]:
    """The words of `text`, and the positions i where punctuation stands between word i-1 and word i."""
    words: list[str] = []
    breaks: set[int] = set()
    for token in TOKEN.findall(_normalised(text)):
        if token[0].isalnum() or token[0] in "'_":
            words.append(token)
        else:
            breaks.add(len(words))
    return words, breaks


def _words(phrase: str) -> Words:
    return tuple(_tokens(phrase)[0])


def lookup_keys(locale: str) -> list[str]:
    """The list keys for a locale, least specific first: "en_gb" -> ["en", "en-GB"]."""
    parts = [part for part in re.split(r"[-_]", locale.strip()) if part]
    if not parts:
        return []
    tags = [parts[0].lower()]
    for part in parts[1:]:
        tags.append(part.upper() if len(part) == 2 else part.title() if len(part) == 4 else part.lower())
    return ["-".join(tags[:n]) for n in range(1, len(tags) + 1)]


def _canonical_key(key: str) -> str:
    return lookup_keys(key)[-1]


def _strings(path: Path, key: str, entry: dict, field: str) -> list[str]:
    values = entry.get(field, [])
    if not isinstance(values, list) or not all(isinstance(value, str) and value.strip() for value in values):
        raise ImproperlyConfigured(f"{path}: {key}.{field} must be a list of non-empty strings")
    return values


@cache
def load(path: str) -> dict[str, dict[str, list[str]]]:
    """The phrase file, checked: {list key: {"negations": [...], "negatable": [...], "phrases": [...]}}.

    Raises ImproperlyConfigured naming the file and the entry when something is off, so a bad
    list fails at start-up (escalations.apps runs this as a system check), not at the next ingest.
    """
    file = Path(path)
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ImproperlyConfigured(f"{file}: cannot read the distress phrase lists ({error})") from None
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(f"{file}: expected an object of lists keyed by language or locale")
    lists: dict[str, dict[str, list[str]]] = {}
    for key, entry in raw.items():
        if key.startswith("_"):
            continue  # comments
        if not LIST_KEY.match(key) or not isinstance(entry, dict) or set(entry) - ENTRY_KEYS:
            raise ImproperlyConfigured(
                f"{file}: {key!r} must be a language or locale (en, en-GB) with only {sorted(ENTRY_KEYS)}"
            )
        lists[_canonical_key(key)] = {field: _strings(file, key, entry, field) for field in ENTRY_KEYS}
    for key, entry in lists.items():
        base = lists.get(key.split("-")[0], {}) if "-" in key else {}
        phrases = {_words(p) for p in entry["phrases"] + base.get("phrases", [])}
        negation_words = {word for n in entry["negations"] + base.get("negations", []) for word in _words(n)}
        for phrase in entry["negatable"]:
            words = _words(phrase)
            if words not in phrases:
                raise ImproperlyConfigured(f"{file}: {key}.negatable {phrase!r} is not one of its phrases")
            if negation_words.intersection(words):
                raise ImproperlyConfigured(
                    f"{file}: {key}.negatable {phrase!r} contains a negation; such a phrase is never cancelled"
                )
    return lists


@lru_cache(maxsize=512)  # bounded: locales come from upstream metadata
def _rules(path: str, locale: str) -> Rules | None:
    lists = load(path)
    keys = [key for key in lookup_keys(locale) if key in lists]
    if not keys:
        return None
    origin: dict[Words, str] = {}
    negations: set[Words] = set()
    negatable: set[Words] = set()
    for key in keys:  # least specific first: a locale's own entry has the last word
        origin.update({_words(phrase): key for phrase in lists[key]["phrases"]})
        negations.update(_words(negation) for negation in lists[key]["negations"])
        negatable.update(_words(phrase) for phrase in lists[key]["negatable"])
    phrases = tuple(sorted(origin.items(), key=lambda item: (-len(item[0]), item[0])))
    return Rules(phrases, frozenset(negations), frozenset(negatable))


def rules_for(locale: str) -> Rules | None:
    """The merged lists for a locale from DISTRESS_PHRASES_FILE, or None if it has none."""
    return _rules(str(settings.DISTRESS_PHRASES_FILE), locale)


def _negated(rules: Rules, phrase: Words, words: list[str], breaks: set[int], start: int) -> bool:
    """Whether a negation cancels the phrase found at `start` (see the module docstring)."""
    if phrase not in rules.negatable:
        return False
    for negation in rules.negations:
        begins = start - len(negation)
        if begins < 0 or tuple(words[begins:start]) != negation:
            continue
        if breaks.intersection(range(begins + 1, start + 1)):
            continue  # "Don't! Call an ambulance": punctuation ends the negation's clause
        if begins > 0 and words[begins - 1] == negation[-1]:
            continue  # said twice: a shout, not a statement
        return True
    return False


def screen(text: str, locale: str) -> Hit | None:
    """The first distress phrase in `text` (by position) for the locale, unless negated; else None."""
    rules = rules_for(locale)
    if rules is None or not text:
        return None
    words, breaks = _tokens(text)
    for start in range(len(words)):
        for phrase, key in rules.phrases:  # longest first, so the fullest phrase at this word wins
            if tuple(words[start : start + len(phrase)]) != phrase:
                continue
            if not _negated(rules, phrase, words, breaks, start):
                return Hit(" ".join(phrase), key)
    return None
