"""Issue 3: security headers on every HTML response, not on a sample of pages.

Walks every URL pattern as every kind of visitor (the URL walk's personas and objects), and adds
the answers no route gives by itself: the 404, 403 and 500 pages and the password lockout page.
Every answer that is HTML must carry the whole set of protective headers.
"""

from django.test import Client

from tests.conftest import PASSWORD
from tests.security.test_nothing_leaves import csp_directives
from tests.security.test_url_walk import _clients, every_endpoint, fill

# Pages the walk must have seen as HTML, so a broken walk cannot pass by checking nothing.
MUST_SEE = {
    "login",
    "verify",
    "queue",
    "backup-codes",
    "people",
    "activity",
    "escalation-dashboard",
    "escalation",
    "my-escalations",
    "after-flag",
    "admin:index",
    "admin:annotations_clippool_changelist",
    "admin:audit_accessevent_changelist",
    "error 404",
    "error 403",
    "error 500",
    "locked out",
}


def header_faults(response) -> list[str]:
    faults = []
    try:
        directives = csp_directives(response)
    except KeyError:
        return ["no Content-Security-Policy"]
    expected = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "media-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
    faults += [
        f"CSP {name} is {directives.get(name)}" for name, value in expected.items() if directives.get(name) != value
    ]
    if directives.get("style-src", [None])[0] != "'self'":
        faults.append(f"CSP style-src is {directives.get('style-src')}")
    for header, value in {
        "Referrer-Policy": "same-origin",  # not no-referrer: docs/decisions.md (CSRF under no-referrer)
        "Cross-Origin-Opener-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
    }.items():
        if response.get(header) != value:
            faults.append(f"{header} is {response.get(header)!r}")
    policy = response.get("Permissions-Policy", "")
    faults += [
        f"Permissions-Policy lacks {f}" for f in ("camera=()", "microphone=()", "geolocation=()") if f not in policy
    ]
    return faults


def _is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


def test_every_html_answer_to_anyone_carries_the_security_headers(
    world, reviewer, supervisor, auditor, django_user_model, settings
):
    clients = _clients(reviewer, supervisor, auditor, django_user_model, world["_token"])
    faults, seen = [], set()
    for template, name in every_endpoint():
        if name in {"logout", "admin-logout"}:
            continue  # would end the session the walk needs
        url = fill(template, world)
        for persona, make_client in clients.items():
            response = make_client().get(url)
            if _is_html(response):
                seen.add(name)
                faults += [f"GET {url} ({name}) as {persona}: {fault}" for fault in header_faults(response)]

    anonymous = Client(raise_request_exception=False)
    reviewer_browser = clients["reviewer"]()
    error_pages = {
        "error 404": reviewer_browser.get("/no/such/page"),
        "error 403": reviewer_browser.get("/supervise/escalations"),
    }
    for _ in range(settings.AXES_FAILURE_LIMIT):
        anonymous.post("/login/", {"username": reviewer.username, "password": "wrong"})
    error_pages["locked out"] = anonymous.post("/login/", {"username": reviewer.username, "password": PASSWORD})
    settings.ROOT_URLCONF = "tests.security.crash_urls"
    error_pages["error 500"] = clients["reviewer"]().get("/test-crash")
    for label, response in error_pages.items():
        assert _is_html(response), (label, response.status_code, response.get("Content-Type"))
        seen.add(label)
        faults += [f"{label} ({response.status_code}): {fault}" for fault in header_faults(response)]

    assert error_pages["locked out"].status_code == 429
    assert error_pages["error 500"].status_code == 500
    assert MUST_SEE - seen == set()
    assert faults == []
