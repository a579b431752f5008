"""The one check every websocket consumer makes: a session signed in with both factors, in role.

OTPMiddleware does not run for websockets, so this reads the session's verified device itself and
applies the same idle and absolute lifetimes as SessionLifetimeMiddleware. AuditContextMiddleware
does not run either: connect() binds the trail's context from the scope (person, address, user
agent, session), records the connection or its refusal, and keeps that context for joined().
"""

import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from reviewportal.accounts.middleware import SESSION_SEEN, SESSION_STARTED
from reviewportal.audit import trail
from reviewportal.audit.models import Action, Outcome

# Close codes in the 4000-4999 range are ours to define.
CLOSE_NOT_VERIFIED = 4401
CLOSE_WRONG_ROLE = 4403


def _verified_user_sync(scope):
    user = scope.get("user")
    session = scope.get("session")
    if user is None or not user.is_authenticated or session is None:
        return None
    now = time.time()
    started = session.get(SESSION_STARTED, 0)
    seen = session.get(SESSION_SEEN, 0)
    if now - seen > settings.SESSION_IDLE_SECONDS or now - started > settings.SESSION_MAX_SECONDS:
        return None
    device = Device.from_persistent_id(session.get(DEVICE_ID_SESSION_KEY) or "")
    if device is None or device.user_id != user.pk or not device.confirmed:
        return None
    return user


@database_sync_to_async
def verified_user(scope):
    """The scope's user if its session is signed in with both factors and still alive; else None."""
    return _verified_user_sync(scope)


class VerifiedConsumer(AsyncJsonWebsocketConsumer):
    """Base for every consumer: refuses the connection unless verified_user() and `permits()` allow it.

    Subclasses set `role` (a group name from accounts.roles), or override `permits()` when the
    pages they serve check something else (a permission shared by several roles), and implement
    `joined()`.
    """

    role: str = ""

    def permits(self, user) -> bool:
        """Whether this verified user may connect. Runs in a worker thread, so it may query."""
        return not self.role or user.has_role(self.role)

    async def connect(self):
        with trail.context(**scope_context(self.scope)):
            user = await verified_user(self.scope)
            if user is None:
                await record(
                    Action.PERMISSION_DENIED, self.scope, CLOSE_NOT_VERIFIED, "not signed in with both factors"
                )
                await self.close(code=CLOSE_NOT_VERIFIED)
                return
            with trail.context(user=user):
                if not await database_sync_to_async(self.permits)(user):
                    reason = f"not in {self.role}" if self.role else "wrong role"
                    await record(Action.PERMISSION_DENIED, self.scope, CLOSE_WRONG_ROLE, reason)
                    await self.close(code=CLOSE_WRONG_ROLE)
                    return
                self.user = user
                await record(Action.WEBSOCKET_CONNECTED, self.scope)
                await self.accept()
                await self.joined()

    async def joined(self) -> None:
        raise NotImplementedError


def scope_context(scope) -> dict:
    """Who and from where, for the trail, out of a websocket's scope (as the middleware does for requests)."""
    headers = dict(scope.get("headers") or [])
    client = scope.get("client") or (None, None)
    session = scope.get("session")
    user = scope.get("user")
    return {
        "request": None,
        "user": user if user is not None and user.is_authenticated else None,
        "token": None,
        "ip": client[0] or None,
        "user_agent": headers.get(b"user-agent", b"").decode("latin-1"),
        "session_hash": trail.session_hash(getattr(session, "session_key", None)),
    }


@database_sync_to_async
def record(action: str, scope, close_code: int | None = None, reason: str = "") -> None:
    detail = {"close_code": close_code, "reason": reason} if close_code else {}
    trail.record(
        action,
        outcome=Outcome.DENIED if close_code else Outcome.ALLOWED,
        object_type="websocket",
        object_id=scope.get("path", "")[:64],
        detail=detail,
    )
