"""Trigger evaluation: pure functions over events and metric windows (no I/O).

Metric conditions fire on the transition to true: after each logged value the
condition is evaluated on the window ending there; it fires when it holds now and did
not hold after the previous value (or could not be evaluated yet). It re-arms by
becoming false. So the firing state needs no storage of its own: it is a function of
the window, which is kept per (run, key) in `metric_window`.

A batch of values is evaluated at once, with numpy: each signal (key, aggregate,
window, kind of change) becomes one array over the batch, shared by every automation
watching it, and each automation's threshold only decides where in that array the
condition flips, found by `searchsorted` over the sorted thresholds. Python only runs
per firing, so ingestion costs about the same with one automation or thousands.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import re2

from automations.filters import AliasFilter, MetricChange, MetricFilter, MetricThreshold


def alias_filter_matches(spec: AliasFilter | None, aliases: Sequence[str]) -> bool:
    """No filter matches any event; otherwise one of the event's aliases must match."""
    if spec is None:
        return True
    if spec.op == "eq":
        return spec.value in aliases
    if spec.op == "in":
        return any(alias in spec.value for alias in aliases)
    pattern = re2.compile(str(spec.value))
    return any(pattern.search(alias) for alias in aliases)


@dataclass(frozen=True)
class Firing:
    automation_id: int
    key: str
    step: int
    value: float  # the aggregate over the current window
    previous: float | None  # for a change: the aggregate over the prior window


# A signal: (aggregate, window, change) where change is None for a threshold, else
# (direction, relative). Its value after each point is what thresholds compare against.
Signal = tuple[str, int, tuple[str, bool] | None]


def _needs(signal: Signal) -> int:
    _agg, window, change = signal
    return window * 2 if change else window


def _rolling(agg: str, window: int, values: np.ndarray) -> np.ndarray:
    """out[i] = the aggregate of values[i-window+1 .. i]; NaN where fewer values exist.
    Sums add the window left to right, so an average is the same number as summing
    the window's values in order."""
    out = np.full(len(values), np.nan)
    count = len(values) - window + 1
    if count <= 0:
        return out
    if agg == "last":
        out[window - 1 :] = values[window - 1 :]
    elif agg == "avg":
        total = values[:count].copy()
        for offset in range(1, window):
            total += values[offset : offset + count]
        out[window - 1 :] = total / window
    else:
        windows = np.lib.stride_tricks.sliding_window_view(values, window)
        out[window - 1 :] = windows.min(axis=1) if agg == "min" else windows.max(axis=1)
    return out


def _compared(signal: Signal, current: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """What thresholds compare with after each value (NaN where the condition cannot be
    evaluated) and, for a change, the prior window's aggregate."""
    _agg, window, change = signal
    if change is None:
        return current, None
    prior = np.full(len(current), np.nan)
    prior[window:] = current[:-window]
    delta = current - prior
    direction, relative = change
    if relative:
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = np.where(prior == 0, np.nan, delta / np.abs(prior))
    if direction == "any":
        return np.abs(delta), prior
    return (delta if direction == "increase" else -delta), prior


class _Thresholds:
    """Automations comparing one signal with one operator, sorted by threshold."""

    def __init__(self, pairs: list[tuple[float, int]]) -> None:
        pairs.sort()
        self.values = np.array([threshold for threshold, _ in pairs])
        self.ids = [automation_id for _, automation_id in pairs]

    def flips(self, cmp: str, before: np.ndarray, now: np.ndarray) -> tuple[np.ndarray, ...]:
        """(positions, lo, hi): at each position where some `signal cmp threshold`
        holds at `now` but did not at `before`, those automations are ids[lo:hi].
        NaN (not evaluable) never holds."""
        values, n = self.values, len(self.values)
        side: Literal["left", "right"]
        known_before = ~np.isnan(before)
        if cmp in ("<", "<="):  # holds iff threshold > signal (>= for "<=")
            side = "right" if cmp == "<" else "left"
            lo = np.searchsorted(values, now, side)  # NaN sorts last: lo = n
            hi = np.where(known_before, np.searchsorted(values, before, side), n)
        else:  # ">", ">=": holds iff threshold < signal (<= for ">=")
            side = "left" if cmp == ">" else "right"
            lo = np.where(known_before, np.searchsorted(values, before, side), 0)
            hi = np.where(np.isnan(now), 0, np.searchsorted(values, now, side))
        positions = np.flatnonzero(lo < hi)
        return positions, lo[positions], hi[positions]


class MetricEvaluator:
    """The metric conditions of one project's automations, ready to run over values."""

    def __init__(self, rules: Sequence[tuple[int, MetricFilter]]) -> None:
        pairs: dict[str, dict[Signal, dict[str, list[tuple[float, int]]]]] = defaultdict(dict)
        for automation_id, rule in rules:
            signal, cmp, threshold = _as_comparison(rule)
            by_cmp = pairs[rule.name].setdefault(signal, {})
            by_cmp.setdefault(cmp, []).append((threshold, automation_id))
        self._signals = {
            key: {
                signal: {cmp: _Thresholds(p) for cmp, p in by_cmp.items()}
                for signal, by_cmp in signals.items()
            }
            for key, signals in pairs.items()
        }
        self.depth = {
            key: max(_needs(signal) for signal in signals) for key, signals in self._signals.items()
        }

    @property
    def keys(self) -> set[str]:
        return set(self._signals)

    def run(
        self, key: str, window: list[float], steps: Sequence[int], values: Sequence[float]
    ) -> list[Firing]:
        """Append `values` (logged at `steps`) to `window` (trimmed in place to what the
        conditions need) and return the firings, in the order of the values."""
        signals = self._signals.get(key)
        if not signals or not values:
            return []
        series = np.array([*window, *values], dtype=float)
        start = len(window)  # series[start] is the first new value
        found: list[tuple[int, int, float, float | None]] = []  # (position, id, value, prior)
        aggregates: dict[tuple[str, int], np.ndarray] = {}
        for signal, by_cmp in signals.items():
            agg, size, _change = signal
            if (agg, size) not in aggregates:
                aggregates[agg, size] = _rolling(agg, size, series)
            current = aggregates[agg, size]
            compared, prior = _compared(signal, current)
            # The value before each new one (NaN before the very first value logged).
            before = np.concatenate(([np.nan], compared))[start:-1]
            now = compared[start:]
            for cmp, thresholds in by_cmp.items():
                for position, lo, hi in zip(*thresholds.flips(cmp, before, now), strict=True):
                    at = start + int(position)
                    previous = None if prior is None else float(prior[at])
                    found.extend(
                        (int(position), automation_id, float(current[at]), previous)
                        for automation_id in thresholds.ids[lo:hi]
                    )
        depth = self.depth[key]
        window[:] = series[-depth:].tolist()
        found.sort(key=lambda item: item[0])  # stable: signals keep their order per value
        return [
            Firing(automation_id, key, steps[position], value, previous)
            for position, automation_id, value, previous in found
        ]


def _as_comparison(rule: MetricFilter) -> tuple[Signal, str, float]:
    if isinstance(rule, MetricThreshold):
        return (rule.agg, rule.window, None), rule.cmp, rule.threshold
    assert isinstance(rule, MetricChange)
    return (rule.agg, rule.window, (rule.direction, rule.relative)), ">=", rule.amount
