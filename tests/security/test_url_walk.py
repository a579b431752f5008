"""Every URL the resolver knows, in every method, as every kind of visitor.

Nothing but an explicit allow-list may answer 2xx. A URL added later is walked automatically;
if it answers someone it should not, this test names it. Path parameters are filled with real
objects that belong to someone else (another reviewer's leased clip, their lease, their audio
link), so a success here is a leak.
"""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern

from tests.conftest import PASSWORD, signed_in

pytestmark = pytest.mark.django_db
METHODS = ("get", "head", "post", "put", "patch", "delete")
# Integration endpoints: a service token's only doors.
TOKEN_ONLY = {"api-ingest-clips", "api-opt-outs", "api-deletions", "api-transcripts"}

# (persona, METHOD, url name) that may answer 2xx. Everything else must not.
ALLOWED = {
    ("anonymous", "GET", "login"),
    ("anonymous", "POST", "login"),  # the form again, with its error
    ("anonymous", "GET", "healthz"),
    ("password_only", "GET", "verify"),
    ("password_only", "GET", "healthz"),
}
for _persona in ("reviewer", "supervisor", "auditor", "escalation_team", "escalation_lead"):
    ALLOWED |= {
        (_persona, "GET", "healthz"),
        (_persona, "GET", "queue"),  # their own home page; says "no queue for you" outside reviewers
        (_persona, "GET", "backup-codes"),  # the form that asks for a current code
        (_persona, "GET", "api-schema"),
    }
ALLOWED |= {
    ("reviewer", "POST", "api-queue-claim"),  # 204: nothing left that is theirs to take
    ("supervisor", "GET", "people"),
    ("supervisor", "POST", "api-second-factor-reset"),
}
# Supervisors and auditors enter the admin by role. Django's admin pages answer any method with
# the page (POST on a changelist is how actions arrive); what is inside is tested per model.
for _persona in ("supervisor", "auditor"):
    ALLOWED |= {(_persona, method, "admin:index") for method in ("GET", "POST", "PUT", "PATCH", "DELETE")}
    ALLOWED |= {(_persona, method, "admin:password_change") for method in ("GET", "POST", "PUT", "PATCH")}
    ALLOWED |= {(_persona, "GET", "admin:jsi18n"), (_persona, "GET", "admin:password_change_done")}
ALLOWED |= {
    ("supervisor", method, name)
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    for name in ("admin:security_volumelimithit_changelist", "admin:app_list")  # app_list: the annotations app
}

ALLOWED |= {("supervisor", "GET", "activity"), ("auditor", "GET", "activity")}
# Escalations: reviewers see their own flags and look after themselves; supervisors run cases.
ALLOWED |= {
    ("reviewer", "GET", "my-escalations"),
    ("reviewer", "GET", "after-flag"),
    ("reviewer", "GET", "api-my-escalations"),
    ("reviewer", "GET", "api-my-wellbeing"),
    ("reviewer", "POST", "api-my-break"),
    ("reviewer", "DELETE", "api-my-break"),
    ("supervisor", "GET", "escalation-dashboard"),
    ("supervisor", "GET", "escalation"),
    ("supervisor", "GET", "api-escalations"),
    ("supervisor", "GET", "api-escalation"),
    ("supervisor", "GET", "api-wellbeing-summary"),
    ("supervisor", "POST", "api-identity-approve"),  # another supervisor's request: approving is their job
}
# Escalation leads handle cases like supervisors (the next tier); they manage nothing else.
ALLOWED |= {
    ("escalation_lead", method, name)
    for (who, method, name) in ALLOWED
    if who == "supervisor"
    and (
        name.startswith("escalation")
        or name.startswith("api-escalation")
        or name in {"api-wellbeing-summary", "api-identity-approve"}
    )
}
# A service token visitor is anonymous to every person's door; it reaches integration endpoints only.
ALLOWED |= {("token", method, name) for (who, method, name) in ALLOWED if who == "anonymous"}
ALLOWED |= {("token", "GET", "api-transcripts")}
# Supervisors manage pools and their object permissions in the admin: every page of that model.
# Auditors read the access trail there (and only read: their other methods are refused).
ALLOWED_PREFIXES = {
    ("supervisor", "*", "admin:annotations_clippool_"),
    ("auditor", "GET", "admin:audit_accessevent_"),
    ("auditor", "GET", "admin:escalations_"),
}


def allowed(persona: str, method: str, name: str) -> bool:
    if method == "HEAD":
        method = "GET"  # HEAD is GET without the body: allowed exactly where GET is
    if (persona, method, name) in ALLOWED:
        return True
    return any(
        persona == who and how in ("*", method) and name.startswith(prefix) for who, how, prefix in ALLOWED_PREFIXES
    )


def _walk(resolver, prefix="", namespace=""):
    """(path template, name) for every endpoint, through every include."""
    for pattern in resolver.url_patterns:
        template = prefix + _template(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern, template, inner)
        elif isinstance(pattern, URLPattern):
            yield template, f"{namespace}{pattern.name}" if pattern.name else template


def _template(pattern) -> str:
    text = str(pattern)
    if isinstance(pattern, RegexPattern):
        text = text.removeprefix("^").removesuffix("$")
        text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", text)
    return re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", text)


def every_endpoint() -> list[tuple[str, str]]:
    return sorted(set(_walk(get_resolver())))


def fill(template: str, samples: dict) -> str:
    path = "/" + re.sub(r"<(\w+)>", lambda m: str(samples[m.group(1)]), template)
    resolve(path)  # the filled-in path must reach the endpoint it came from
    return path


class CrashTolerantClient(Client):
    """A crash becomes a 500 answer, which the walk reports, instead of stopping the walk."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, raise_request_exception=False, **kwargs)


def _person_in(django_user_model, username: str, role: str):
    from django.contrib.auth.models import Group

    person = django_user_model.objects.create_user(username)
    person.groups.add(Group.objects.get(name=role))
    return person


def _clients(reviewer, supervisor, auditor, django_user_model, token: str):
    password_only = Client(raise_request_exception=False)
    password_only.post("/login/", {"username": reviewer.username, "password": PASSWORD})
    # The roles that come with cases: only escalation_team (per-clip grants), only escalation_leads.
    team_member = _person_in(django_user_model, "tess", "escalation_team")
    lead = _person_in(django_user_model, "lena", "escalation_leads")
    return {
        "anonymous": lambda: Client(raise_request_exception=False),
        "password_only": lambda: password_only,
        "reviewer": lambda: signed_in(reviewer, CrashTolerantClient),
        "supervisor": lambda: signed_in(supervisor, CrashTolerantClient),
        "auditor": lambda: signed_in(auditor, CrashTolerantClient),
        "escalation_team": lambda: signed_in(team_member, CrashTolerantClient),
        "escalation_lead": lambda: signed_in(lead, CrashTolerantClient),
        "token": lambda: Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {token}"),
    }


def test_no_url_answers_anyone_outside_the_allow_list(world, reviewer, supervisor, auditor, django_user_model):
    clients = _clients(reviewer, supervisor, auditor, django_user_model, world["_token"])
    leaks = []
    walked = 0
    for template, name in every_endpoint():
        try:
            url = fill(template, world)
        except KeyError as missing:
            pytest.fail(f"URL {template} needs a sample value for {missing}")
        for persona, make_client in clients.items():
            for method in METHODS:
                response = getattr(make_client(), method)(url)
                walked += 1
                if 200 <= response.status_code < 300 and not allowed(persona, method.upper(), name):
                    leaks.append(f"{method.upper()} {url} ({name}) answered {response.status_code} to {persona}")
                elif (
                    persona == "token"
                    and url.startswith("/api/")
                    and name not in TOKEN_ONLY
                    and response.status_code not in (401, 403)
                ):
                    # Tokens never reach a reviewer, supervisor or auditor endpoint: refused at the door.
                    leaks.append(f"{method.upper()} {url} ({name}) let a service token in ({response.status_code})")
                elif response.status_code >= 500:
                    leaks.append(f"{method.upper()} {url} ({name}) crashed ({response.status_code}) for {persona}")
    assert walked > 1500
    assert not leaks, "\n".join(leaks)


def test_the_allow_list_still_matches_the_urls():
    names = {name for _, name in every_endpoint()}
    assert names >= TOKEN_ONLY
    stale = {entry for entry in ALLOWED if entry[2] not in names}
    assert stale == set()
