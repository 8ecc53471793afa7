"""Charts as inline SVG strings, drawn in Python: the HTML report needs no script and no CDN.

The ``<svg>`` elements carry no ``xmlns`` attribute: inside HTML5 it is implied, and leaving it
out keeps the report free of any ``http://`` reference (the report must open offline, and a
test checks that it names no URL at all).
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

import numpy as np

WIDTH = 900
HEIGHT = 260
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 70, 16, 14, 28
LINE = "#1f5fa8"
FAINT = "#d9d9d9"
TEXT = "#333333"


def _fmt(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.2f}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.1f}k"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.4g}"


def _date(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


class Frame:
    """Maps data coordinates to the plot area of one chart."""

    def __init__(
        self, x: np.ndarray, y_values: Sequence[np.ndarray], width: int, height: int
    ) -> None:
        finite = np.concatenate([v[np.isfinite(v)] for v in y_values] or [np.zeros(1)])
        if finite.size == 0:
            finite = np.zeros(1)
        self.x0, self.x1 = float(np.min(x)), float(np.max(x))
        self.y0, self.y1 = float(finite.min()), float(finite.max())
        if self.x1 == self.x0:
            self.x1 = self.x0 + 1
        if self.y1 == self.y0:
            self.y0, self.y1 = self.y0 - 1, self.y1 + 1
        margin = (self.y1 - self.y0) * 0.04
        self.y0 -= margin
        self.y1 += margin
        self.width, self.height = width, height

    def px(self, x: np.ndarray) -> np.ndarray:
        span = self.width - PAD_LEFT - PAD_RIGHT
        return np.asarray(PAD_LEFT + (x - self.x0) / (self.x1 - self.x0) * span)

    def py(self, y: np.ndarray) -> np.ndarray:
        span = self.height - PAD_TOP - PAD_BOTTOM
        return np.asarray(PAD_TOP + (self.y1 - y) / (self.y1 - self.y0) * span)

    def axes(self, *, time_axis: bool = True, percent: bool = False) -> str:
        parts = []
        for value in np.linspace(self.y0, self.y1, 5):
            y = float(self.py(np.array([value]))[0])
            label = f"{value * 100:.1f}%" if percent else _fmt(float(value))
            parts.append(
                f'<line x1="{PAD_LEFT}" x2="{self.width - PAD_RIGHT}" y1="{y:.1f}" '
                f'y2="{y:.1f}" stroke="{FAINT}" stroke-width="1"/>'
                f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                f'font-size="11" fill="{TEXT}">{escape(label)}</text>'
            )
        ticks = np.linspace(self.x0, self.x1, 5)
        for number, value in enumerate(ticks):
            x = float(self.px(np.array([value]))[0])
            label = _date(value) if time_axis else f"{value:.0f}"
            # The end labels stay inside the chart.
            anchor = {0: "start", len(ticks) - 1: "end"}.get(number, "middle")
            parts.append(
                f'<text x="{x:.1f}" y="{self.height - 8}" text-anchor="{anchor}" '
                f'font-size="11" fill="{TEXT}">{escape(label)}</text>'
            )
        return "".join(parts)


def _path(xs: np.ndarray, ys: np.ndarray) -> str:
    ok = np.isfinite(ys)
    commands = []
    pen_down = False
    for x, y, good in zip(xs, ys, ok, strict=True):
        if not good:
            pen_down = False
            continue
        commands.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
        pen_down = True
    return " ".join(commands)


def _svg(body: str, width: int, height: int, title: str) -> str:
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>{body}</svg>'
    )


def line_chart(
    x: np.ndarray,
    series: Sequence[tuple[str, np.ndarray, str]],
    *,
    title: str,
    width: int = WIDTH,
    height: int = HEIGHT,
    time_axis: bool = True,
) -> str:
    """Lines of ``(label, values, colour)`` over ``x`` (UTC ms when ``time_axis``)."""
    frame = Frame(x, [values for _, values, _ in series], width, height)
    body = [frame.axes(time_axis=time_axis)]
    legend_x = PAD_LEFT + 8
    for label, values, colour in series:
        body.append(
            f'<path d="{_path(frame.px(x), frame.py(values))}" fill="none" '
            f'stroke="{colour}" stroke-width="1.5"/>'
        )
        body.append(
            f'<text x="{legend_x}" y="{PAD_TOP + 12}" font-size="11" fill="{colour}">'
            f"{escape(label)}</text>"
        )
        legend_x += 8 * len(label) + 24
    return _svg("".join(body), width, height, title)


def area_chart(x: np.ndarray, values: np.ndarray, *, title: str, colour: str = "#b03a2e") -> str:
    """A filled area from zero (a drawdown series, as fractions)."""
    frame = Frame(x, [values, np.zeros(1)], WIDTH, HEIGHT)
    xs, ys = frame.px(x), frame.py(values)
    zero = float(frame.py(np.array([0.0]))[0])
    outline = _path(xs, ys)
    polygon = f"{outline} L{xs[-1]:.1f},{zero:.1f} L{xs[0]:.1f},{zero:.1f} Z"
    body = frame.axes(percent=True) + (
        f'<path d="{polygon}" fill="{colour}" fill-opacity="0.35" stroke="{colour}" '
        'stroke-width="1"/>'
    )
    return _svg(body, WIDTH, HEIGHT, title)


def price_with_trades(
    x: np.ndarray,
    close: np.ndarray,
    entries: Sequence[tuple[float, float, int]],
    exits: Sequence[tuple[float, float]],
    *,
    title: str,
) -> str:
    """The close price with trade markers: entries as triangles (up long, down short), exits
    as circles."""
    frame = Frame(x, [close], WIDTH, HEIGHT)
    body = [frame.axes(), f'<path d="{_path(frame.px(x), frame.py(close))}" fill="none" '
            f'stroke="#555" stroke-width="1"/>']  # fmt: skip
    for t, price, direction in entries:
        cx = float(frame.px(np.array([t]))[0])
        cy = float(frame.py(np.array([price]))[0])
        tip = -7 if direction > 0 else 7
        colour = "#1e8449" if direction > 0 else "#b03a2e"
        body.append(
            f'<polygon points="{cx:.1f},{cy + tip:.1f} {cx - 5:.1f},{cy - tip / 2:.1f} '
            f'{cx + 5:.1f},{cy - tip / 2:.1f}" fill="{colour}"><title>entry '
            f"{escape(_fmt(price))}</title></polygon>"
        )
    for t, price in exits:
        cx = float(frame.px(np.array([t]))[0])
        cy = float(frame.py(np.array([price]))[0])
        body.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="none" stroke="#7d3c98" '
            f'stroke-width="1.5"><title>exit {escape(_fmt(price))}</title></circle>'
        )
    return _svg("".join(body), WIDTH, HEIGHT, title)


def fan_chart(
    x: np.ndarray,
    bands: dict[str, np.ndarray],
    actual: np.ndarray | None,
    *,
    title: str,
    time_axis: bool,
) -> str:
    """Percentile bands p5-p95 and p25-p75 around the median, with the actual path."""
    values = [bands[k] for k in ("p5", "p25", "p50", "p75", "p95")]
    if actual is not None:
        values.append(actual)
    frame = Frame(x, values, WIDTH, HEIGHT)
    xs = frame.px(x)
    body = [frame.axes(time_axis=time_axis)]
    for low, high, opacity in (("p5", "p95", 0.18), ("p25", "p75", 0.35)):
        top = frame.py(bands[high])
        bottom = frame.py(bands[low])
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, top, strict=True))
        points += " " + " ".join(
            f"{a:.1f},{b:.1f}" for a, b in zip(xs[::-1], bottom[::-1], strict=True)
        )
        body.append(f'<polygon points="{points}" fill="{LINE}" fill-opacity="{opacity}"/>')
    body.append(
        f'<path d="{_path(xs, frame.py(bands["p50"]))}" fill="none" stroke="{LINE}" '
        'stroke-width="1.5"/>'
    )
    if actual is not None:
        body.append(
            f'<path d="{_path(xs, frame.py(actual))}" fill="none" stroke="#111" '
            'stroke-width="1.2" stroke-dasharray="4 3"/>'
        )
    return _svg("".join(body), WIDTH, HEIGHT, title)


def heat_colour(value: float | None, scale: float) -> str:
    """Green for gains, red for losses, white at zero (``scale``: the largest magnitude)."""
    if value is None or not np.isfinite(value):
        return "#f4f4f4"
    strength = min(abs(value) / scale, 1.0) if scale > 0 else 0.0
    fade = int(255 - 150 * strength)
    return f"rgb({fade},255,{fade})" if value >= 0 else f"rgb(255,{fade},{fade})"
