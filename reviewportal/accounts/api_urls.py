from django.urls import path

from reviewportal.accounts import api

urlpatterns = [
    path(
        "people/<int:user_id>/second-factor/reset", api.SecondFactorResetView.as_view(), name="api-second-factor-reset"
    ),
]
