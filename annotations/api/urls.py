from django.urls import path

from annotations.api import integrations, views

urlpatterns = [
    path("queue/claim", views.ClaimView.as_view(), name="api-queue-claim"),
    path("queue/claim-next", views.ClaimNextView.as_view(), name="api-queue-claim-next"),
    path("leases/<uuid:lease_id>/release", views.LeaseReleaseView.as_view(), name="api-lease-release"),
    path("leases/<uuid:lease_id>/renew", views.LeaseRenewView.as_view(), name="api-lease-renew"),
    path("clips/<uuid:clip_id>", views.ClipDetailView.as_view(), name="api-clip-detail"),
    path("clips/<uuid:clip_id>/transcript", views.TranscriptSaveView.as_view(), name="api-clip-transcript"),
    path("clips/<uuid:clip_id>/submit", views.ClipSubmitView.as_view(), name="api-clip-submit"),
    path("pools/<slug:pool_slug>/clips", views.PoolClipsView.as_view(), name="api-pool-clips"),
    path("ingest/clips", views.IngestClipView.as_view(), name="api-ingest-clips"),
    path("integrations/opt-outs", integrations.OptOutView.as_view(), name="api-opt-outs"),
    path("integrations/deletions", integrations.DeletionView.as_view(), name="api-deletions"),
    path("integrations/transcripts", integrations.TranscriptExportView.as_view(), name="api-transcripts"),
]
