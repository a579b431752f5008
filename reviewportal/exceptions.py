"""The API's exception handler: service-level refusals become answers that name the reason."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import (
    APIException,
    AuthenticationFailed,
    NotAuthenticated,
    PermissionDenied,
    Throttled,
    ValidationError,
)
from rest_framework.views import exception_handler

from annotations.errors import ClipWithdrawn
from reviewportal.audit import trail
from reviewportal.audit.models import Action, Outcome
from reviewportal.security.volume import VolumeLimitExceeded


class Gone(APIException):
    status_code = 410
    default_code = "gone"


def api_exception_handler(exc, context):
    if isinstance(exc, (PermissionDenied, NotAuthenticated, AuthenticationFailed)):
        request = context["request"]
        token = request.auth if hasattr(request.auth, "scopes") else None
        detail = {"reason": str(exc.detail)[:200], "method": request.method}
        with trail.context(token=token):
            trail.record(
                Action.PERMISSION_DENIED,
                outcome=Outcome.DENIED,
                object_type="path",
                object_id=request.path[:64],
                detail=detail,
            )
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = ValidationError(detail)
    elif isinstance(exc, VolumeLimitExceeded):
        exc = Throttled(wait=exc.retry_after, detail=str(exc))
    elif isinstance(exc, ClipWithdrawn):
        # Only ever the holder of the withdrawn lease (annotations.access); a machine-readable
        # reason, so the editor says "withdrawn" and not "went back to the queue".
        response = exception_handler(Gone(detail=exc.message), context)
        response.data["reason"] = exc.reason
        return response
    return exception_handler(exc, context)
