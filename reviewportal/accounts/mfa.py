"""The second factor: TOTP enrolment, backup codes, verification with a lock, and supervisor resets.

django-otp keeps the devices and their own throttling (a growing wait after each wrong code) and
refuses a TOTP code it has accepted before. On top of that, OTP_MAX_FAILURES wrong codes in a row
lock the person's second factor until a supervisor resets it.
"""

import base64
import re
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from reviewportal.audit import trail
from reviewportal.audit.models import Action, Outcome

TOTP_DEVICE_NAME = "authenticator app"
BACKUP_DEVICE_NAME = "backup codes"


class SecondFactorLocked(Exception):
    """Too many wrong codes: only a supervisor's reset lets this person in again."""


class SecondFactorThrottled(Exception):
    """django-otp asks for a pause after a wrong code; the caller shows how long."""

    def __init__(self, seconds: int):
        super().__init__(f"wait {seconds} s")
        self.seconds = seconds


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    secret: str  # base32, for typing into an app or `oathtool --totp -b`
    qr_svg: SafeString


def has_confirmed_totp(user) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def enrolment_for(user) -> Enrolment:
    """The person's unconfirmed TOTP device (made on first call), with its QR code and secret."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return Enrolment(device=device, secret=totp_secret(device), qr_svg=_qr_svg(device.config_url))


def totp_secret(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def _qr_svg(text: str) -> SafeString:
    # Drawn here as inline SVG: the secret never goes to an outside QR service.
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg = image.to_string(encoding="unicode")
    return mark_safe(svg.replace("<svg ", '<svg role="img" aria-label="QR code for your authenticator app" ', 1))  # noqa: S308  qrcode's own SVG, no user input


def confirm_enrolment(*, user, device: TOTPDevice, code: str) -> list[str]:
    """Confirm the device with a right code and issue fresh backup codes, returned once.

    Returns an empty list for a wrong code, which counts towards the lock like any wrong code
    (an enrolment page is no free guessing ground). Raises SecondFactorLocked when the lock is on
    (or this code set it), SecondFactorThrottled while django-otp asks for a pause.
    """
    wait = 0
    with transaction.atomic():
        person = get_user_model().objects.select_for_update(no_key=True).get(pk=user.pk)
        device = TOTPDevice.objects.select_for_update(no_key=True).get(pk=device.pk, user=user, confirmed=False)
        if person.otp_locked_at is not None:
            trail.record(Action.OTP_FAILED, outcome=Outcome.DENIED, actor=person, detail={"reason": "locked"})
        elif wait := _throttle_wait(device):
            trail.record(Action.OTP_FAILED, outcome=Outcome.DENIED, actor=person, detail={"reason": "paused"})
        elif device.verify_token(_digits(code)):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            person.record_otp_success()
            codes = _replace_backup_codes(person)
            trail.record(Action.OTP_ENROLLED, actor=person, object_type="user", object_id=person.pk)
            return codes
        else:
            _count_failure(person, "enrolment")
    # Raised after the commit, so the refusal's count and event stay.
    if person.otp_locked_at is not None:
        raise SecondFactorLocked
    if wait:
        raise SecondFactorThrottled(wait)
    return []


def verify_code(*, user, code: str) -> Device | None:
    """Check a TOTP or backup code against the person's confirmed devices.

    Returns the device that accepted it, or None for a wrong code (counted towards the lock).
    Raises SecondFactorLocked when the lock is on, SecondFactorThrottled while django-otp asks
    for a pause. A backup code is used up by a success; a TOTP code is never accepted twice.
    Refusals are raised after the commit: inside the block they would roll back the very count
    (and event) that caused them.
    """
    wait = 0
    with transaction.atomic():
        person = get_user_model().objects.select_for_update(no_key=True).get(pk=user.pk)
        if person.otp_locked_at is None:
            devices = list(devices_for_user(person, confirmed=True, for_verify=True))
            waits = [seconds for seconds in map(_throttle_wait, devices) if seconds]
            if waits and len(waits) == len(devices):
                wait = min(waits)
                trail.record(Action.OTP_FAILED, outcome=Outcome.DENIED, actor=person, detail={"reason": "paused"})
            else:
                cleaned = _digits(code) if _digits(code).isdigit() else code.strip().lower()
                for device in devices:
                    if device.verify_token(cleaned):
                        person.record_otp_success()
                        kind = "backup_code" if isinstance(device, StaticDevice) else "totp"
                        trail.record(Action.OTP_VERIFIED, actor=person, detail={"factor": kind})
                        return device
                _count_failure(person, "verify")
        else:
            trail.record(Action.OTP_FAILED, outcome=Outcome.DENIED, actor=person, detail={"reason": "locked"})
    if person.otp_locked_at is not None:
        raise SecondFactorLocked
    if wait:
        raise SecondFactorThrottled(wait)
    return None


def regenerate_backup_codes(*, user, code: str) -> list[str]:
    """New backup codes, only for a current TOTP code; the old ones stop working. Empty if refused.

    A wrong code counts towards the lock like one on the verify page: a verified session left open
    must not become a place to guess codes without limit. Raises SecondFactorLocked when the lock
    is on (or this code set it), SecondFactorThrottled while django-otp asks for a pause.
    """
    wait = 0
    with transaction.atomic():
        person = get_user_model().objects.select_for_update(no_key=True).get(pk=user.pk)
        device = TOTPDevice.objects.devices_for_user(person, confirmed=True).select_for_update(no_key=True).first()
        if device is None:
            return []
        if person.otp_locked_at is not None:
            trail.record(Action.OTP_FAILED, outcome=Outcome.DENIED, actor=person, detail={"reason": "locked"})
        elif wait := _throttle_wait(device):
            trail.record(Action.OTP_FAILED, outcome=Outcome.DENIED, actor=person, detail={"reason": "paused"})
        elif device.verify_token(_digits(code)):
            person.record_otp_success()
            codes = _replace_backup_codes(person)
            trail.record(Action.BACKUP_CODES_ISSUED, actor=person, object_type="user", object_id=person.pk)
            return codes
        else:
            _count_failure(person, "new backup codes")
    if person.otp_locked_at is not None:
        raise SecondFactorLocked
    if wait:
        raise SecondFactorThrottled(wait)
    return []


def reset_second_factor(*, user, by=None) -> None:
    """Remove every device and the lock: the person enrols again at their next sign-in.

    Their current session stops counting as verified at once, because its device is gone.
    `by` is the supervisor who asked (None for an operator's command).
    """
    with transaction.atomic():
        person = get_user_model().objects.select_for_update(no_key=True).get(pk=user.pk)
        for device in devices_for_user(person, confirmed=None):
            device.delete()
        person.clear_otp_lock()
        trail.record(Action.DEVICE_RESET, actor=by, object_type="user", object_id=person.pk)


def _count_failure(person, where: str) -> None:
    """One wrong code, wherever it was typed (verify, enrolment, new backup codes): counted towards
    OTP_MAX_FAILURES, which locks the second factor. Call with the person's row locked."""
    person.record_otp_failure(limit=settings.OTP_MAX_FAILURES)
    detail = {"failures": person.otp_failures}
    if where != "verify":
        detail["reason"] = where
    trail.record(Action.OTP_FAILED, outcome=Outcome.DENIED, actor=person, detail=detail)
    if person.otp_locked_at is not None:
        trail.record(Action.LOCKOUT, outcome=Outcome.DENIED, actor=person, detail={"factor": "second"})


def _replace_backup_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def _digits(code: str) -> str:
    return re.sub(r"\s+", "", code or "")


def _throttle_wait(device: Device) -> int:
    allowed, details = device.verify_is_allowed()
    if allowed:
        return 0
    locked_until = (details or {}).get("locked_until")
    if locked_until is None:
        return 1
    return max(1, int((locked_until - timezone.now()).total_seconds() + 0.999))
