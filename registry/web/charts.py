"""Metric histories as line charts: the geometry of an SVG plot, computed here so the
page needs no charting library.

A long history is reduced to the first and last point of each pixel-wide bucket plus
its minimum and maximum, so a spike stays visible however many points were logged.
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 12, 28
BUCKETS = WIDTH - LEFT - RIGHT
TICKS = 5


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    key: str
    points: str  # SVG polyline points
    count: int
    last: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    plot_width: int = WIDTH - LEFT - RIGHT
    plot_height: int = HEIGHT - TOP - BOTTOM


def charts(history: Iterable[tuple[str, int, float | None]]) -> list[Chart]:
    """One chart per key of (key, step, value) points given in step order. Values
    logged with `allow_nonfinite` (NaN reads back as None, ±inf) have no place on the
    plot and are left out."""
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for key, step, value in history:
        if value is not None and math.isfinite(value):
            series[key].append((step, value))
    return [_chart(key, points) for key, points in sorted(series.items())]


def _chart(key: str, points: list[tuple[int, float]]) -> Chart:
    shown = _reduce(points)
    steps = [step for step, _ in shown]
    values = [value for _, value in shown]
    x0, x1 = min(steps), max(steps)
    y0, y1 = min(values), max(values)
    if x0 == x1:
        x0, x1 = x0 - 1, x1 + 1
    if y0 == y1:
        y0, y1 = y0 - 1, y1 + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(step: float) -> float:
        return LEFT + (step - x0) / (x1 - x0) * plot_w

    def sy(value: float) -> float:
        return TOP + (y1 - value) / (y1 - y0) * plot_h

    polyline = " ".join(f"{sx(s):.1f},{sy(v):.1f}" for s, v in shown)
    x_steps = sorted({round(x0 + (x1 - x0) * i / (TICKS - 1)) for i in range(TICKS)})
    x_ticks = [Tick(sx(step), str(step)) for step in x_steps]
    y_values = [y0 + (y1 - y0) * i / (TICKS - 1) for i in range(TICKS)]
    y_ticks = [Tick(sy(value), _number(value)) for value in y_values]
    return Chart(key, polyline, len(points), points[-1][1], x_ticks, y_ticks)


def _reduce(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    if len(points) <= BUCKETS * 4:
        return points
    first, last = points[0][0], points[-1][0]
    span = max(last - first, 1)
    buckets: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for point in points:
        buckets[min(int((point[0] - first) / span * BUCKETS), BUCKETS - 1)].append(point)
    reduced: list[tuple[int, float]] = []
    for index in sorted(buckets):
        bucket = buckets[index]
        lowest = min(bucket, key=lambda p: p[1])
        highest = max(bucket, key=lambda p: p[1])
        extremes = {bucket[0], lowest, highest, bucket[-1]}
        reduced.extend(sorted(extremes))
    return reduced


def _number(value: float) -> str:
    return f"{value:.4g}"
