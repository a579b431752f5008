"""Clips, the queue and its leases, transcripts and audio: the review loop."""
