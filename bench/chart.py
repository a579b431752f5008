"""A grouped bar chart as plain SVG text: one panel per backlog size, bars per mode at each K.

Written by hand so that the benchmarks need no plotting library; the markup is small enough to
review in a diff. Colours are from the Okabe-Ito palette, which stays apart for colour-blind readers.
"""

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]
PANEL_WIDTH, PANEL_HEIGHT = 300, 260
MARGIN_LEFT, MARGIN_TOP, MARGIN_BOTTOM, PANEL_GAP = 60, 56, 84, 24


@dataclass(frozen=True)
class Bar:
    panel: str  # e.g. "N = 10k"
    group: str  # e.g. "K = 8"
    series: str  # e.g. "http-keepalive"
    value: float


@dataclass(frozen=True)
class ReferenceLine:
    value: float
    label: str


def _nice_ceiling(value: float) -> float:
    """The next 1, 2 or 5 times a power of ten at or above `value`, so gridlines fall on round numbers."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _ordered(values) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def bar_chart_svg(bars: list[Bar], *, title: str, y_label: str, references: list[ReferenceLine] = ()) -> str:
    """Render `bars` as one SVG document. Panels, groups and series keep the order they first appear in."""
    panels = _ordered(bar.panel for bar in bars)
    series = _ordered(bar.series for bar in bars)
    colour = {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(series)}
    top = _nice_ceiling(max([bar.value for bar in bars] + [line.value for line in references] + [1]) * 1.05)
    width = MARGIN_LEFT + len(panels) * (PANEL_WIDTH + PANEL_GAP) + 10
    height = MARGIN_TOP + PANEL_HEIGHT + MARGIN_BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{MARGIN_LEFT}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
        f'<text transform="translate(16 {MARGIN_TOP + PANEL_HEIGHT / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>',
    ]

    def y_of(value: float) -> float:
        return MARGIN_TOP + PANEL_HEIGHT * (1 - value / top)

    for panel_index, panel in enumerate(panels):
        left = MARGIN_LEFT + panel_index * (PANEL_WIDTH + PANEL_GAP)
        parts += _panel_frame(left, panel, top, y_of)
        panel_bars = [bar for bar in bars if bar.panel == panel]
        groups = _ordered(bar.group for bar in panel_bars)
        group_width = PANEL_WIDTH / max(len(groups), 1)
        bar_width = group_width * 0.8 / max(len(series), 1)
        for group_index, group in enumerate(groups):
            group_left = left + group_index * group_width + group_width * 0.1
            for bar in (bar for bar in panel_bars if bar.group == group):
                x = group_left + series.index(bar.series) * bar_width
                y = y_of(bar.value)
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width - 1:.1f}" '
                    f'height="{MARGIN_TOP + PANEL_HEIGHT - y:.1f}" fill="{colour[bar.series]}">'
                    f"<title>{escape(f'{bar.series}, {group}, {panel}: {bar.value:.0f}')}</title></rect>"
                )
                parts.append(
                    f'<text x="{x + bar_width / 2:.1f}" y="{y - 3:.1f}" font-size="9" '
                    f'text-anchor="middle">{bar.value:.0f}</text>'
                )
            parts.append(
                f'<text x="{left + (group_index + 0.5) * group_width:.1f}" y="{MARGIN_TOP + PANEL_HEIGHT + 16}" '
                f'text-anchor="middle">{escape(group)}</text>'
            )
        for line in references:
            y = y_of(line.value)
            parts.append(
                f'<line x1="{left}" x2="{left + PANEL_WIDTH}" y1="{y:.1f}" y2="{y:.1f}" '
                'stroke="#555" stroke-dasharray="5 4"/>'
            )
    parts += _legend(series, colour, references, height)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _panel_frame(left: float, panel: str, top: float, y_of) -> list[str]:
    parts = [
        f'<text x="{left + PANEL_WIDTH / 2}" y="{MARGIN_TOP - 10}" text-anchor="middle" '
        f'font-weight="bold">{escape(panel)}</text>'
    ]
    for tick in range(6):
        value = top * tick / 5
        y = y_of(value)
        parts.append(f'<line x1="{left}" x2="{left + PANEL_WIDTH}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{value:g}</text>')
    bottom = MARGIN_TOP + PANEL_HEIGHT
    parts.append(f'<line x1="{left}" x2="{left + PANEL_WIDTH}" y1="{bottom}" y2="{bottom}" stroke="#333"/>')
    return parts


def _legend(series: list[str], colour: dict[str, str], references, height: float) -> list[str]:
    parts = []
    x, y = MARGIN_LEFT, height - 34
    for name in series:
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour[name]}"/>')
        parts.append(f'<text x="{x + 16}" y="{y}">{escape(name)}</text>')
        x += 28 + 7 * len(name)
    x, y = MARGIN_LEFT, height - 12
    for line in references:
        parts.append(f'<line x1="{x}" x2="{x + 24}" y1="{y - 4}" y2="{y - 4}" stroke="#555" stroke-dasharray="5 4"/>')
        parts.append(f'<text x="{x + 30}" y="{y}">{escape(f"{line.value:g}: {line.label}")}</text>')
        x += 60 + 6 * len(line.label)
    return parts
