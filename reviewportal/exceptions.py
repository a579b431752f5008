"""The API's exception handler: service-level refusals become answers that name the reason."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.views import exception_handler

from reviewportal.security.volume import VolumeLimitExceeded


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = ValidationError(detail)
    elif isinstance(exc, VolumeLimitExceeded):
        exc = Throttled(wait=exc.retry_after, detail=str(exc))
    return exception_handler(exc, context)
