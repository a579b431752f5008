from django.urls import path

from reviewportal.accounts import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("login/verify", views.verify, name="verify"),
    path("login/enrol", views.enrol, name="enrol"),
    path("account/backup-codes", views.backup_codes, name="backup-codes"),
    path("supervise/people", views.people, name="people"),
    path("supervise/people/<int:user_id>/reset-second-factor", views.reset_second_factor, name="reset-second-factor"),
]
