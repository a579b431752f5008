"""RFC 6238 TOTP computed here, independently of django-otp, from the secret a person enrolled."""

import base64
import hashlib
import hmac
import struct
import time


def totp(secret_b32: str, *, at: float | None = None, step: int = 30, digits: int = 6, offset_steps: int = 0) -> str:
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8), casefold=True)
    counter = int((time.time() if at is None else at) // step) + offset_steps
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)
