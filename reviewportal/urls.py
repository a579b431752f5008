from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from reviewportal import views

api_urlpatterns = [
    path("", include("annotations.api.urls")),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
]

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urlpatterns)),
    path("", include("annotations.urls")),
]

handler400 = "reviewportal.views.bad_request"
handler403 = "reviewportal.views.permission_denied"
handler404 = "reviewportal.views.page_not_found"
handler500 = "reviewportal.views.server_error"
