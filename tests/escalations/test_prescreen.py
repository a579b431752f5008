"""The ingest pre-screen's rules (on a test phrase list) and the shipped lists (issue 6: negation).

The rules are tested on tests/escalations/data/distress_phrases.json, so they do not depend on
what the shipped lists happen to hold; the shipped lists have their own tests below.
"""

import json
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from escalations import prescreen
from escalations.apps import distress_phrases_load
from escalations.prescreen import lookup_keys, screen

TEST_LIST = Path(__file__).resolve().parent / "data" / "distress_phrases.json"


@pytest.fixture
def test_list(settings):
    settings.DISTRESS_PHRASES_FILE = TEST_LIST


def phrase(text: str, locale: str = "en-US") -> str | None:
    hit = screen(text, locale)
    return hit.phrase if hit else None


# --- The rules, on the test list -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("HELP. Help!", "help help"),  # case and punctuation do not matter between a phrase's words
        ("help, help", "help help"),
        ("tea?", "tea"),
        ("helphelp", None),  # whole words, not substrings
        ("help helper", None),
        ("steam teapot", None),
        ("help tea help", "tea"),  # in order: "help help" is not there
    ],
)
def test_a_phrase_matches_whole_words_in_order(test_list, text, found):
    assert phrase(text) == found


def test_the_fullest_phrase_at_a_word_wins_and_the_first_by_position(test_list):
    assert phrase("send the rescue team now") == "send the rescue team now"
    assert phrase("tea, then help help") == "tea"


@pytest.mark.parametrize("text", ["nah send the rescue team", "I said not ever send the rescue team"])
def test_a_negation_right_before_a_negatable_phrase_cancels_it(test_list, text):
    assert screen(text, "en") is None


@pytest.mark.parametrize(
    "text",
    [
        "nah please send the rescue team",  # not right before it
        "nah, send the rescue team",  # an exclamation, then the phrase
        "Nah! Send the rescue team!",
        "nah nah send the rescue team",  # said twice: a shout
        "nah, nah send the rescue team",
        "not, ever send the rescue team",  # punctuation inside the negation
        "nah send the rescue team. Send the rescue team!",  # a negated one does not hide a later one
    ],
)
def test_a_negation_that_is_an_exclamation_or_elsewhere_does_not_cancel(test_list, text):
    assert phrase(text) == "send the rescue team"


@pytest.mark.parametrize(("text", "found"), [("nah help help", "help help"), ("nah i am not ok", "i am not ok")])
def test_a_phrase_not_listed_as_negatable_is_never_cancelled(test_list, text, found):
    assert phrase(text) == found


def test_a_phrase_followed_by_a_negation_is_still_a_hit(test_list):
    assert phrase("send the rescue team nah") == "send the rescue team"


@pytest.mark.parametrize(
    ("locale", "keys"),
    [
        ("en", ["en"]),
        ("en-GB", ["en", "en-GB"]),
        ("en_gb", ["en", "en-GB"]),
        ("EN-gb", ["en", "en-GB"]),
        ("zh-hant-tw", ["zh", "zh-Hant", "zh-Hant-TW"]),
        ("", []),
    ],
)
def test_locales_are_looked_up_from_the_language_to_the_region(locale, keys):
    assert lookup_keys(locale) == keys


def test_a_locale_uses_its_language_list_and_adds_its_own(test_list):
    assert screen("help help", "en-GB") == prescreen.Hit("help help", "en")  # falls back to the language
    assert screen("ring the coastguard", "en_GB") == prescreen.Hit("ring the coastguard", "en-GB")
    assert screen("ring the coastguard", "en-US") is None  # another region does not get it
    assert screen("ring the coastguard", "en") is None
    assert screen("nah ring the coastguard", "en-GB") is None  # the language's negations apply too
    assert screen("help help", "en-IE").reason == 'phrase "help help" (en)'


@pytest.mark.parametrize("locale", ["fr-FR", "pt-BR", "", "-"])
def test_a_locale_without_a_list_is_not_screened(test_list, locale):
    assert screen("help help", locale) is None


@pytest.mark.parametrize(
    ("lists", "complaint"),
    [
        ({"en": {"phrases": ["help"], "negatable": ["call"]}}, "is not one of its phrases"),
        ({"en": {"negations": ["not"], "phrases": ["not ok"], "negatable": ["not ok"]}}, "contains a negation"),
        ({"en": {"negations": ["not"]}, "en-GB": {"phrases": ["not ok"], "negatable": ["not ok"]}}, "negation"),
        ({"en": {"phrases": ["help"], "regex": ["h.lp"]}}, "with only"),
        ({"english": {"phrases": ["help"]}}, "must be a language or locale"),
        ({"en": {"phrases": ["help", ""]}}, "non-empty strings"),
        (["help"], "expected an object"),
    ],
)
def test_a_broken_phrase_list_fails_loudly_at_start_up(settings, tmp_path, lists, complaint):
    broken = tmp_path / "phrases.json"
    broken.write_text(json.dumps(lists), encoding="utf-8")
    settings.DISTRESS_PHRASES_FILE = broken

    with pytest.raises(ImproperlyConfigured, match=complaint):
        screen("help", "en")
    [error] = distress_phrases_load()
    assert error.id == "escalations.E001" and complaint.split()[0] in error.msg


def test_the_shipped_lists_load_cleanly():
    assert distress_phrases_load() == []


# --- The shipped lists (issue 6: negation cancelled real distress) ----------------------------


@pytest.mark.parametrize(
    ("text", "locale", "found"),
    [
        ("No! Don't touch me!", "en-US", "don't touch me"),
        ("no no stop hurting me", "en-US", "stop hurting me"),
        ("no please call the police", "en-GB", "call the police"),
        ("please no, let me go", "en-US", "let me go"),
        ("no don't hit me", "en-US", "don't hit me"),
        ("Don't! Call an ambulance!", "en-US", "call an ambulance"),
        # Being told not to call the police is a warning sign itself; only a listener can tell the TV.
        ("don't call the police, it was the TV", "en-US", "call the police"),
        ("Nein, nein! Lass mich los!", "de-DE", "lass mich los"),
        ("Nicht! Nicht! Hör auf mich zu schlagen", "de-AT", "hör auf mich zu schlagen"),
        ("nein ich kann nicht atmen", "de-DE", "kann nicht atmen"),
        ("bitte nicht, hilfe hilfe", "de-CH", "hilfe hilfe"),
        ("Non, pas ça ! Au secours !", "fr-FR", "au secours"),
        ("non pas ça au secours", "fr-CA", "au secours"),
        ("non non lâche-moi", "fr-FR", "lâche moi"),
        ("non il ne respire plus", "fr-BE", "il ne respire plus"),
        ("no no puedo respirar", "es-ES", "no puedo respirar"),
        ("¡No, no! ¡Suéltame!", "es-MX", "suéltame"),
        ("no por favor llamen a la policía", "es-ES", "llamen a la policía"),
        ("no no llamen a una ambulancia", "es-AR", "llamen a una ambulancia"),
        ("call 999 now", "en-GB", "call 999"),
        ("call triple zero", "en-AU", "call triple zero"),
    ],
)
def test_exclamations_and_negations_inside_distress_phrases_never_cancel_them(text, locale, found):
    assert phrase(text, locale) == found


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("I am fine, don't call an ambulance", "en-US"),
        ("there's no need to call an ambulance", "en-GB"),
        ("do not call an ambulance", "en-US"),
        ("I'm not in danger", "en-US"),
        ("estoy bien, no llamen a una ambulancia", "es-ES"),
        ("call 999", "en-US"),  # the UK's number is in en-GB's list only
    ],
)
def test_genuinely_negated_requests_for_an_ambulance_are_not_hits(text, locale):
    assert screen(text, locale) is None
