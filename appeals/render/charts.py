"""Small SVG bar charts for the triage report, the same markup in the HTML page and the PDF.

A horizontal bar chart is a dozen rectangles and labels; a plotting library (matplotlib: tens of
MB, SVG ids and metadata that change between runs) would cost more than it gives here, and the
output must be byte-stable for the manifest. Labels are escaped; values print beside each bar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

WIDTH, LABEL, ROW, BAR, TOP = 470, 165, 19, 13, 24
NAVY, GREY = "#1f3a5f", "#555555"


def _clip(text: str, limit: int = 27) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def bar_chart(title: str, items: Sequence[tuple[str, float]],
              fmt: Callable[[float], str] = lambda v: f"{v:,.0f}") -> str:
    """An SVG horizontal bar chart of (label, value) pairs, longest bar = largest value."""
    peak = max((v for _, v in items), default=0) or 1
    span = WIDTH - LABEL - 75
    height = TOP + ROW * max(len(items), 1) + 6
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
              f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
              f'font-family="Letter Serif, Liberation Serif, serif" font-size="12">'),
             f"<title>{escape(title)}</title>",
             (f'<text x="0" y="15" font-size="13" font-weight="bold" fill="{NAVY}">'
              f"{escape(title)}</text>")]
    if not items:
        parts.append(f'<text x="0" y="{TOP + 14}" fill="{GREY}">none</text>')
    for n, (label, value) in enumerate(items):
        y = TOP + n * ROW
        width = max(1.0, span * value / peak) if value else 0
        parts += [(f'<text x="{LABEL - 8}" y="{y + 11}" text-anchor="end" fill="#222">'
                   f"{escape(_clip(label))}</text>"),
                  f'<rect x="{LABEL}" y="{y}" width="{width:.1f}" height="{BAR}" fill="{NAVY}"/>',
                  (f'<text x="{LABEL + width + 6:.1f}" y="{y + 11}" fill="{GREY}">'
                   f"{escape(fmt(value))}</text>")]
    parts.append("</svg>")
    return "".join(parts)
