from django.urls import path

from reviewportal.audit import views

urlpatterns = [
    path("audit/activity", views.activity_page, name="activity"),
]
