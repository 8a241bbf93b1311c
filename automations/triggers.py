"""Trigger evaluation: pure functions over events and metric windows (no I/O).

Metric conditions fire on the transition to true: after each logged value the
condition is evaluated on the window ending there; it fires when it holds now and did
not hold after the previous value (or could not be evaluated yet). It re-arms by
becoming false. So the firing state needs no storage of its own: it is a function of
the window, which is kept per (run, key) in `metric_window`.

Evaluation is shared: automations watching the same signal (key, aggregate, window,
kind of change) compute it once per value, and their thresholds are kept sorted so
those that flip are found by bisection, not by testing each automation. Thousands of
automations on one key cost about what one does.
"""

import bisect
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
_AGGREGATES: dict[str, Callable[[Sequence[float]], float]] = {
    "last": lambda values: values[-1],
    "avg": lambda values: sum(values) / len(values),
    "min": min,
    "max": max,
}


def _needs(signal: Signal) -> int:
    _agg, window, change = signal
    return window * 2 if change else window


def _evaluate(signal: Signal, values: Sequence[float]) -> tuple[float, float | None, float] | None:
    """(current aggregate, prior aggregate, compared value), or None if too few values."""
    agg, window, change = signal
    if len(values) < _needs(signal):
        return None
    aggregate = _AGGREGATES[agg]
    current = aggregate(values[-window:])
    if change is None:
        return current, None, current
    prior = aggregate(values[-2 * window : -window])
    delta = current - prior
    direction, relative = change
    if relative:
        if prior == 0:
            return None
        delta /= abs(prior)
    compared = {"any": abs(delta), "increase": delta, "decrease": -delta}[direction]
    return current, prior, compared


class _Thresholds:
    """Automations comparing one signal with one operator, sorted by threshold."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.ids: list[int] = []

    def add(self, threshold: float, automation_id: int) -> None:
        at = bisect.bisect_left(self.values, threshold)
        self.values.insert(at, threshold)
        self.ids.insert(at, automation_id)

    def flipped_true(self, cmp: str, before: float | None, now: float) -> list[int]:
        """Ids whose `signal cmp threshold` holds at `now` but did not at `before`."""
        values, n = self.values, len(self.values)
        if cmp == "<":  # holds iff threshold > signal
            lo = bisect.bisect_right(values, now)
            hi = n if before is None else bisect.bisect_right(values, before)
        elif cmp == "<=":
            lo = bisect.bisect_left(values, now)
            hi = n if before is None else bisect.bisect_left(values, before)
        elif cmp == ">":  # holds iff threshold < signal
            lo = 0 if before is None else bisect.bisect_left(values, before)
            hi = bisect.bisect_left(values, now)
        else:  # ">="
            lo = 0 if before is None else bisect.bisect_right(values, before)
            hi = bisect.bisect_right(values, now)
        return self.ids[lo:hi] if lo < hi else []


class MetricEvaluator:
    """The metric conditions of one project's automations, ready to run over values."""

    def __init__(self, rules: Sequence[tuple[int, MetricFilter]]) -> None:
        self._signals: dict[str, dict[Signal, dict[str, _Thresholds]]] = defaultdict(dict)
        for automation_id, rule in rules:
            signal, cmp, threshold = _as_comparison(rule)
            by_cmp = self._signals[rule.name].setdefault(signal, {})
            by_cmp.setdefault(cmp, _Thresholds()).add(threshold, automation_id)
        self.depth = {
            key: max(_needs(signal) for signal in signals) for key, signals in self._signals.items()
        }

    @property
    def keys(self) -> set[str]:
        return set(self._signals)

    def run(
        self, key: str, window: list[float], points: Sequence[tuple[int, float]]
    ) -> list[Firing]:
        """Append `points` (step, value) to `window` (trimmed in place to what the
        conditions need) and return the firings, in order."""
        signals = self._signals.get(key)
        if not signals:
            return []
        depth = self.depth[key]
        firings: list[Firing] = []
        before = {signal: _evaluate(signal, window) for signal in signals}
        for step, value in points:
            window.append(value)
            if len(window) > 2 * depth:  # trim in batches, not on every value
                del window[:-depth]
            for signal, by_cmp in signals.items():
                now = _evaluate(signal, window)
                previous, before[signal] = before[signal], now
                if now is None:
                    continue
                compared_before = None if previous is None else previous[2]
                for cmp, thresholds in by_cmp.items():
                    for automation_id in thresholds.flipped_true(cmp, compared_before, now[2]):
                        firings.append(Firing(automation_id, key, step, now[0], now[1]))
        del window[:-depth]
        return firings


def _as_comparison(rule: MetricFilter) -> tuple[Signal, str, float]:
    if isinstance(rule, MetricThreshold):
        return (rule.agg, rule.window, None), rule.cmp, rule.threshold
    assert isinstance(rule, MetricChange)
    return (rule.agg, rule.window, (rule.direction, rule.relative)), ">=", rule.amount
