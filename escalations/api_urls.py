from django.urls import path

from escalations import api

urlpatterns = [
    path("clips/<uuid:clip_id>/escalations", api.FlagView.as_view(), name="api-clip-escalations"),
    path("my/escalations", api.MyFlagsView.as_view(), name="api-my-escalations"),
    path("my/wellbeing", api.WellbeingView.as_view(), name="api-my-wellbeing"),
    path("my/wellbeing/break", api.BreakView.as_view(), name="api-my-break"),
    path("escalations", api.CaseListView.as_view(), name="api-escalations"),
    path("escalations/<uuid:case_id>", api.CaseDetailView.as_view(), name="api-escalation"),
    path("escalations/<uuid:case_id>/transitions", api.TransitionView.as_view(), name="api-escalation-transitions"),
    path("escalations/<uuid:case_id>/comments", api.CommentView.as_view(), name="api-escalation-comments"),
    path(
        "escalations/<uuid:case_id>/referral/propose", api.ReferralProposeView.as_view(), name="api-escalation-propose"
    ),
    path(
        "escalations/<uuid:case_id>/referral/approve", api.ReferralApproveView.as_view(), name="api-escalation-approve"
    ),
    path(
        "escalations/<uuid:case_id>/identity-requests",
        api.IdentityRequestView.as_view(),
        name="api-escalation-identity-requests",
    ),
    path("identity-requests/<uuid:request_id>/approve", api.IdentityApproveView.as_view(), name="api-identity-approve"),
    path("identity-requests/<uuid:request_id>/identity", api.IdentityRevealView.as_view(), name="api-identity-reveal"),
    path("supervisors/me/duty", api.DutyView.as_view(), name="api-duty"),
    path("wellbeing/summary", api.WellbeingSummaryView.as_view(), name="api-wellbeing-summary"),
]
