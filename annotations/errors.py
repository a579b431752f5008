"""What the review-loop services refuse, as exceptions the API and pages turn into answers."""

from django.http import Http404


class LeaseEnded(Exception):
    """The lease ended or expired before the action could happen; the clip is no longer yours."""


class TranscriptConflict(Exception):
    """The transcript was saved by someone else since the version the caller started from."""

    def __init__(self, current):
        super().__init__(f"the transcript is now at version {current.version if current else 0}")
        self.current = current


class OnBreak(Exception):
    """The reviewer's queue is paused for a break until `until`."""

    def __init__(self, until):
        super().__init__(f"on a break until {until:%H:%M} UTC")
        self.until = until


class ClipWithdrawn(Http404):
    """The caller's own lease on this clip was withdrawn (an opt-out, a deletion request, a purge).

    Raised by annotations.access only to the reviewer whose lease it was, so their editor can say
    why the clip went even when the websocket that normally tells it is down: the API answers 410
    Gone with {"reason": "withdrawn"}. It is an Http404, so every other caller (pages, the audio
    view) treats it as the plain refusal it was before, and anyone else still gets 404.
    """

    reason = "withdrawn"
    message = (
        "This clip was withdrawn: the person recorded opted out or asked for deletion, or it expired. "
        "Nothing more of it can be saved or played."
    )

    def __init__(self):
        super().__init__(self.message)
