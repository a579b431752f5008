"""Encryption at rest for who was recorded, and keyed hashes for looking them up.

Nothing reviewer-facing imports this module or SourceIdentity: identities leave the database only
through the supervisors' break-glass flow (escalations) and the privacy commands.
"""

import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import models


def _fernet() -> MultiFernet:
    # The first key encrypts; every listed key decrypts, so keys can be rotated without downtime.
    return MultiFernet([Fernet(key.encode()) for key in settings.IDENTITY_ENCRYPTION_KEYS])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of a normalised identifier: equal inputs match, the input cannot be recovered."""
    normalised = value.strip().casefold()
    return hmac.new(settings.IDENTITY_HASH_KEY.encode(), normalised.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column stored as a Fernet token and decrypted on read. Not searchable by design."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None else encrypt(value)

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)
