"""Promise 1: no one hears a clip without a password AND a second factor.

Every test here signs in through the real pages and types real RFC 6238 codes computed from the
enrolled secret (tests.totp), never a patched verifier.
"""

import re
import time

import pytest
from django.test import Client
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from reviewportal.accounts.mfa import totp_secret
from tests.conftest import PASSWORD, enrol_totp, signed_in
from tests.totp import totp

pytestmark = pytest.mark.django_db


def password_step(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def enrol(client: Client) -> tuple[str, list[str]]:
    """Walk the enrolment page with a real code; return (secret, backup codes)."""
    page = client.get("/login/enrol").content.decode()
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    shown = client.post("/login/enrol", {"code": totp(secret)})
    assert shown.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", shown.content.decode())
    return secret, codes


def signed_in_fully(username: str, secret: str, *, offset_steps: int = 0) -> Client:
    client = Client()
    password_step(client, username)
    response = client.post("/login/verify", {"code": totp(secret, offset_steps=offset_steps)})
    assert response.status_code == 302, response.content
    return client


def test_first_sign_in_enrols_a_totp_device_with_a_qr_code_and_ten_backup_codes(reviewer):
    client = Client()
    response = password_step(client, "rita", follow=True)

    assert response.redirect_chain[-1][0].startswith("/login/enrol")
    page = response.content.decode()
    assert '<svg role="img" aria-label="QR code for your authenticator app"' in page
    assert "http" not in page.split("<svg", 1)[1].split("</svg>", 1)[0].replace("http://www.w3.org/2000/svg", "")
    assert not TOTPDevice.objects.filter(user=reviewer, confirmed=True).exists()

    _secret, codes = enrol(client)

    assert len(codes) == 10 and len(set(codes)) == 10
    assert TOTPDevice.objects.get(user=reviewer).confirmed
    assert client.get("/").status_code == 200


def test_a_wrong_code_does_not_confirm_the_device(reviewer):
    client = Client()
    password_step(client, "rita")
    client.get("/login/enrol")

    response = client.post("/login/enrol", {"code": "000000"})

    assert response.status_code == 400
    assert not TOTPDevice.objects.filter(user=reviewer, confirmed=True).exists()
    assert client.get("/", follow=True).redirect_chain[-1][0].startswith("/login/enrol")


def test_a_password_alone_reaches_nothing_but_the_second_factor_pages(reviewer, make_clips):
    enrol_totp(reviewer)
    client = Client()
    password_step(client, "rita")

    assert client.get("/").status_code == 302
    assert client.get("/").url.startswith("/login/verify")
    assert client.post("/queue/next").status_code == 403
    api = client.post("/api/v1/queue/claim")
    assert api.status_code == 403
    assert api.json() == {"detail": "Sign in with your second factor first"}
    assert client.get("/admin/").url.startswith("/login/verify")
    assert client.get("/api/v1/schema").status_code == 403


def test_verifying_with_a_current_code_opens_the_queue(reviewer):
    device = enrol_totp(reviewer)
    client = signed_in_fully("rita", totp_secret(device))
    assert b"Start reviewing" in client.get("/").content


def test_a_totp_code_is_never_accepted_twice(reviewer):
    secret = totp_secret(enrol_totp(reviewer))
    code = totp(secret)
    first = Client()
    password_step(first, "rita")
    assert first.post("/login/verify", {"code": code}).status_code == 302

    second = Client()
    password_step(second, "rita")
    replay = second.post("/login/verify", {"code": code})

    assert replay.status_code == 400
    assert second.get("/").status_code == 302


def test_each_backup_code_works_exactly_once(reviewer):
    client = Client()
    password_step(client, "rita")
    _, codes = enrol(client)

    for attempt in ("first", "second"):
        browser = Client()
        password_step(browser, "rita")
        response = browser.post("/login/verify", {"code": codes[0]})
        if attempt == "first":
            assert response.status_code == 302
        else:
            assert response.status_code == 400
    assert StaticToken.objects.filter(device__user=reviewer).count() == 9


def test_new_backup_codes_need_a_verified_session_and_a_current_code(reviewer, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no pause after the deliberately wrong code below
    client = Client()
    password_step(client, "rita")
    secret, old_codes = enrol(client)

    refused = client.post("/account/backup-codes", {"code": "123456"})
    assert refused.status_code == 400
    fresh = client.post("/account/backup-codes", {"code": totp(secret, offset_steps=1)})

    new_codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", fresh.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    stale = Client()
    password_step(stale, "rita")
    assert stale.post("/login/verify", {"code": old_codes[0]}).status_code == 400
    unverified = Client()
    password_step(unverified, "rita")
    assert unverified.get("/account/backup-codes").status_code == 302


def test_the_session_key_changes_at_sign_in_and_again_at_verification(reviewer):
    secret = totp_secret(enrol_totp(reviewer))
    client = Client()
    client.get("/login/")
    anonymous_key = client.cookies.get("sessionid")
    password_step(client, "rita")
    password_key = client.cookies["sessionid"].value

    client.post("/login/verify", {"code": totp(secret)})
    verified_key = client.cookies["sessionid"].value

    assert anonymous_key is None or anonymous_key.value != password_key
    assert verified_key != password_key


def test_wrong_codes_make_django_otp_ask_for_a_pause(reviewer):
    enrol_totp(reviewer)
    client = Client()
    password_step(client, "rita")

    assert client.post("/login/verify", {"code": "000000"}).status_code == 400
    paused = client.post("/login/verify", {"code": "000001"})

    assert paused.status_code == 429
    assert b"Wait" in paused.content


def test_ten_wrong_codes_lock_the_second_factor_until_a_supervisor_resets_it(reviewer, supervisor, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the pause is tested above; here only the count matters
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    secret = totp_secret(enrol_totp(reviewer))
    client = Client()
    password_step(client, "rita")

    statuses = [client.post("/login/verify", {"code": f"{n:06d}"}).status_code for n in range(10)]
    right_code_after_lock = client.post("/login/verify", {"code": totp(secret)})

    assert statuses == [400] * 9 + [403]
    assert right_code_after_lock.status_code == 403
    assert b"Ask a supervisor to reset it" in right_code_after_lock.content

    boss = signed_in(supervisor, Client)
    assert b"locked since" in boss.get("/supervise/people").content
    assert boss.post(f"/supervise/people/{reviewer.pk}/reset-second-factor").status_code == 302

    again = Client()
    password_step(again, "rita")
    assert again.get("/").url.startswith("/login/enrol")
    new_secret, _ = enrol(again)
    assert new_secret != secret


def test_a_reset_ends_the_reviewers_verified_session_at_once(reviewer, supervisor):
    client = signed_in_fully("rita", totp_secret(enrol_totp(reviewer)))
    assert client.get("/").status_code == 200

    signed_in(supervisor).post(f"/api/v1/people/{reviewer.pk}/second-factor/reset")

    assert client.get("/").url.startswith("/login/enrol")


@pytest.mark.parametrize("persona", ["other_reviewer", "auditor"])
def test_only_supervisors_reset_a_second_factor(request, persona, reviewer):
    device = enrol_totp(reviewer)
    client = signed_in(request.getfixturevalue(persona))

    assert client.post(f"/api/v1/people/{reviewer.pk}/second-factor/reset").status_code == 403
    assert client.get("/supervise/people").status_code == 403
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_a_supervisor_cannot_reset_another_supervisor(supervisor, django_user_model):
    from django.contrib.auth.models import Group

    other = django_user_model.objects.create_user("sven", password=PASSWORD)
    other.groups.add(Group.objects.get(name="supervisors"))
    enrol_totp(other)

    response = signed_in(supervisor).post(f"/api/v1/people/{other.pk}/second-factor/reset")

    assert response.status_code == 404
    assert TOTPDevice.objects.filter(user=other).exists()


def test_five_wrong_passwords_lock_out_that_user_from_that_address(reviewer):
    client = Client()
    for _ in range(5):
        password_step(client, "rita", password="wrong", REMOTE_ADDR="203.0.113.7")

    locked = password_step(client, "rita", REMOTE_ADDR="203.0.113.7")
    elsewhere = password_step(Client(), "rita", REMOTE_ADDR="198.51.100.9")

    assert locked.status_code == 429
    assert b"Too many wrong passwords" in locked.content
    assert elsewhere.status_code == 302  # another address is not locked out


def test_an_idle_session_ends(reviewer, settings):
    client = signed_in_fully("rita", totp_secret(enrol_totp(reviewer)))
    session = client.session
    session["session_seen_at"] = time.time() - settings.SESSION_IDLE_SECONDS - 1
    session.save()

    assert client.get("/").url.startswith("/login/")
    assert client.get("/").url.startswith("/login/")  # signed out, not just bounced once


def test_a_session_ends_after_its_absolute_lifetime_however_busy(reviewer, settings):
    client = signed_in_fully("rita", totp_secret(enrol_totp(reviewer)))
    session = client.session
    session["session_started_at"] = time.time() - settings.SESSION_MAX_SECONDS - 1
    session.save()

    assert client.get("/").url.startswith("/login/")


def test_session_and_csrf_cookies_are_secure_httponly_and_strict(reviewer):
    enrol_totp(reviewer)
    client = Client()
    client.get("/login/")
    response = password_step(client, "rita")

    session_cookie = response.cookies["sessionid"]
    assert session_cookie["secure"] and session_cookie["httponly"]
    assert session_cookie["samesite"] == "Strict"
    assert client.cookies["csrftoken"]["secure"] and client.cookies["csrftoken"]["samesite"] == "Strict"


def test_the_admin_is_the_otp_admin_and_needs_a_verified_staff_session(django_user_model):
    admin_user = django_user_model.objects.create_superuser("root", password=PASSWORD)
    secret = totp_secret(enrol_totp(admin_user))

    password_only = Client()
    password_step(password_only, "root")
    assert password_only.get("/admin/").url.startswith("/login/verify")
    verified = signed_in_fully("root", secret)
    assert verified.get("/admin/").status_code == 200


def test_no_admindocs_or_second_admin_is_mounted():
    from django.conf import settings
    from django.contrib import admin
    from django.urls import URLResolver, get_resolver

    admin_sites = [p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.app_name == "admin"]
    assert len(admin_sites) == 1
    assert isinstance(admin.site, OTPAdminSite)
    assert "django.contrib.admindocs" not in settings.INSTALLED_APPS


def test_supervisors_enter_the_admin_by_role_and_reviewers_do_not(supervisor, reviewer):
    assert signed_in(supervisor, Client).get("/admin/").status_code == 200
    assert signed_in(supervisor, Client, verified=False).get("/admin/").status_code == 302
    assert signed_in(reviewer, Client).get("/admin/").status_code == 302


def test_an_operator_resets_anyone_from_the_command_line(supervisor):
    import io

    from django.core.management import CommandError, call_command

    enrol_totp(supervisor)
    call_command("reset_second_factor", "sana", stdout=io.StringIO())

    assert not TOTPDevice.objects.filter(user=supervisor).exists()
    with pytest.raises(CommandError, match="No person"):
        call_command("reset_second_factor", "nobody")


def _no_pauses(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the pause has its own test; here only the count matters
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def test_wrong_codes_on_the_new_backup_codes_page_count_towards_the_lock(reviewer, settings):
    """Issue 3: a verified session left open must not be a place to guess codes without limit."""
    _no_pauses(settings)
    secret = totp_secret(enrol_totp(reviewer))
    client = signed_in_fully("rita", secret)

    statuses = [client.post("/account/backup-codes", {"code": f"{n:06d}"}).status_code for n in range(10)]

    assert statuses == [400] * 9 + [403]
    reviewer.refresh_from_db()
    assert reviewer.otp_locked_at is not None
    assert client.get("/").url.startswith("/login/")  # the session went with the factor
    fresh = Client()
    password_step(fresh, "rita")
    assert fresh.post("/login/verify", {"code": totp(secret, offset_steps=1)}).status_code == 403


def test_wrong_codes_at_enrolment_count_towards_the_lock(reviewer, settings):
    _no_pauses(settings)
    client = Client()
    password_step(client, "rita")
    page = client.get("/login/enrol").content.decode()
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)

    statuses = [client.post("/login/enrol", {"code": f"{n:06d}"}).status_code for n in range(10)]
    right_code_after_lock = client.post("/login/enrol", {"code": totp(secret)})

    assert statuses == [400] * 9 + [403]
    assert right_code_after_lock.status_code == 403
    assert not TOTPDevice.objects.filter(user=reviewer, confirmed=True).exists()


def test_wrong_codes_on_every_page_add_up_to_one_lock(reviewer, settings):
    _no_pauses(settings)
    secret = totp_secret(enrol_totp(reviewer))
    open_session = signed_in_fully("rita", secret)
    for n in range(5):
        assert open_session.post("/account/backup-codes", {"code": f"{n:06d}"}).status_code == 400
    client = Client()
    password_step(client, "rita")

    statuses = [client.post("/login/verify", {"code": f"{n:06d}"}).status_code for n in range(5)]

    assert statuses == [400] * 4 + [403]
