from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from reviewportal import views
from reviewportal.accounts.admin_site import ReviewportalAdminSite
from reviewportal.accounts.views import LogoutView

# The one admin site, and it demands a verified second factor (django-otp's OTPAdminSite). No
# other admin site and no admindocs are mounted.
admin.site.__class__ = ReviewportalAdminSite

api_urlpatterns = [
    path("", include("annotations.api.urls")),
    path("", include("reviewportal.accounts.api_urls")),
    path("", include("escalations.api_urls")),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
]

urlpatterns = [
    path("", include("reviewportal.accounts.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("", include("reviewportal.audit.urls")),
    # One sign-in door: the admin's own login page sends people to ours (password, then code).
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True), name="admin-login"),
    path("admin/logout/", LogoutView.as_view(), name="admin-logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urlpatterns)),
    path("", include("escalations.urls")),
    path("", include("annotations.urls")),
]

handler400 = "reviewportal.views.bad_request"
handler403 = "reviewportal.views.permission_denied"
handler404 = "reviewportal.views.page_not_found"
handler500 = "reviewportal.views.server_error"
