"""Waveform peaks: what a page needs to draw a clip before a single audio byte is fetched.

A clip's peaks are `peaks_per_second` (min, max) pairs a second over all channels, quantised to
signed 8 bits and stored interleaved: min0, max0, min1, max1, ... A 30 s clip at 100 pairs a second
is 6 KB. Pages get them base64-encoded and scale by 1/127 (wavesurfer.js takes -1..1 floats).
"""

from collections.abc import Iterable

import numpy as np


class NonFiniteSamples(ValueError):
    """The decoded audio holds NaN or infinite samples."""


def compute_peaks(blocks: Iterable[np.ndarray], sample_rate: int, per_second: int) -> tuple[bytes, int]:
    """Return (peaks, frames seen) for decoded float blocks shaped (frames, channels).

    Memory stays at one block whatever the clip's length. Raises NonFiniteSamples at the first
    block holding NaN or infinity.
    """
    window = max(1, sample_rate // per_second)
    mins: list[np.ndarray] = []
    maxs: list[np.ndarray] = []
    # Per-frame extremes left over from the previous block, short of a whole window.
    carry_low = carry_high = np.empty(0, dtype=np.float32)
    frames = 0
    for block in blocks:
        frames += len(block)
        if not np.isfinite(block).all():
            raise NonFiniteSamples(f"non-finite sample near {frames / sample_rate:.2f} s")
        # Extremes over channels: a peak on either channel shows on the waveform.
        lows = np.concatenate([carry_low, block.min(axis=1)])
        highs = np.concatenate([carry_high, block.max(axis=1)])
        whole = len(lows) // window * window
        if whole:
            mins.append(lows[:whole].reshape(-1, window).min(axis=1))
            maxs.append(highs[:whole].reshape(-1, window).max(axis=1))
        carry_low, carry_high = lows[whole:], highs[whole:]
    if carry_low.size:
        mins.append(carry_low.min(keepdims=True))
        maxs.append(carry_high.max(keepdims=True))
    if not mins:
        return b"", frames
    pairs = np.empty(sum(m.size for m in mins) * 2, dtype=np.float32)
    pairs[0::2] = np.concatenate(mins)
    pairs[1::2] = np.concatenate(maxs)
    return quantise(pairs), frames


def quantise(values: np.ndarray) -> bytes:
    return np.clip(np.round(values * 127.0), -128, 127).astype(np.int8).tobytes()
