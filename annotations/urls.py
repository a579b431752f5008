from django.urls import path

from annotations import audio, views

urlpatterns = [
    path("", views.queue_home, name="queue"),
    path("queue/next", views.claim_next, name="queue-next"),
    path("clips/<uuid:clip_id>", views.clip_page, name="clip"),
    path("clips/<uuid:clip_id>/transcript", views.clip_save, name="clip-save"),
    path("leases/<uuid:lease_id>/release", views.lease_release, name="lease-release"),
    path("audio/<str:token>", audio.audio_stream, name="audio"),
]
