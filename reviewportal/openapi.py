"""drf-spectacular glue: component names for nested Input/Output serializers, and the service-token scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class ReviewportalSchema(AutoSchema):
    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        # Views nest plain InputSerializer/OutputSerializer classes (HackSoft style); name each
        # component after its view, e.g. ClaimView.OutputSerializer -> ClaimOutput.
        qualname = type(serializer).__qualname__
        if "." in qualname:
            view, _, inner = qualname.rpartition(".")
            name = view.removesuffix("View") + inner.removesuffix("Serializer")
            return name + "Request" if direction == "request" and not name.endswith("Input") else name
        return super()._get_serializer_name(serializer, direction, bypass_extensions)


class ServiceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "reviewportal.integrations.authentication.ServiceTokenAuthentication"
    name = "serviceToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A service token from `manage.py create_service_token`; integration endpoints only.",
        }
