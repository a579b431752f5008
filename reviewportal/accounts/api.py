from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from reviewportal.accounts import mfa
from reviewportal.accounts.permissions import PERSON
from reviewportal.accounts.roles import REVIEWERS

Detail = inline_serializer("AccountsDetail", {"detail": serializers.CharField()})


class CanResetSecondFactor(permissions.BasePermission):
    message = "Only supervisors can reset a second factor"

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm("accounts.reset_second_factor")


class SecondFactorResetView(APIView):
    permission_classes = [*PERSON, CanResetSecondFactor]

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description="Reset: the reviewer enrols again at next sign-in."),
            403: OpenApiResponse(Detail, description="Not signed in with both factors, or not a supervisor."),
            404: OpenApiResponse(Detail, description="No such reviewer."),
        },
        summary="Reset a reviewer's second factor (supervisors)",
    )
    def post(self, request, user_id: int):
        person = get_object_or_404(get_user_model(), pk=user_id, groups__name=REVIEWERS)
        mfa.reset_second_factor(user=person, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
