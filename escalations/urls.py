from django.urls import path

from escalations import views

urlpatterns = [
    path("clips/<uuid:clip_id>/escalate", views.flag, name="flag"),
    path("my/escalations", views.my_escalations, name="my-escalations"),
    path("my/escalations/flagged", views.after_flag, name="after-flag"),
    path("my/break", views.take_break, name="take-break"),
    path("my/wellbeing", views.wellbeing_settings, name="wellbeing-settings"),
    path("supervise/escalations", views.dashboard, name="escalation-dashboard"),
    path("supervise/duty", views.duty, name="duty"),
    path("supervise/escalations/<uuid:case_id>", views.case_page, name="escalation"),
    path("supervise/escalations/<uuid:case_id>/steps", views.case_step, name="escalation-step"),
    path("supervise/identity-requests/<uuid:request_id>", views.identity_page, name="identity"),
]
