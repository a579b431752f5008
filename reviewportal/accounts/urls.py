from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.decorators.http import require_http_methods

from reviewportal.accounts import views

urlpatterns = [
    path(
        "login/",
        require_http_methods(["GET", "POST"])(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/verify", views.verify, name="verify"),
    path("login/enrol", views.enrol, name="enrol"),
    path("account/backup-codes", views.backup_codes, name="backup-codes"),
    path("supervise/people", views.people, name="people"),
    path("supervise/people/<int:user_id>/reset-second-factor", views.reset_second_factor, name="reset-second-factor"),
]
