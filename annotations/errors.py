"""What the review-loop services refuse, as exceptions the API and pages turn into answers."""


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
