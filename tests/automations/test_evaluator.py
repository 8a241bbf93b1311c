"""The batch evaluator against the definition of SPEC section 5, value by value.

Values and thresholds come from a few small numbers so that ties (a value equal to a
threshold, a change from 0) happen often; batches are split at random, so a result
may not depend on where one request ended and the next began.
"""

from collections.abc import Callable, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from automations.filters import MetricChange, MetricFilter, MetricThreshold
from automations.triggers import MetricEvaluator

_AGGREGATES: dict[str, Callable[[Sequence[float]], float]] = {
    "last": lambda values: values[-1],
    "avg": lambda values: sum(values) / len(values),
    "min": min,
    "max": max,
}
_HOLDS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def reference(rule: MetricFilter, values: Sequence[float]) -> list[int]:
    """Indexes of the values after which `rule` fires, evaluated one value at a time."""
    aggregate, window = _AGGREGATES[rule.agg], rule.window
    fired, held = [], False
    for i in range(len(values)):
        holds = None
        if isinstance(rule, MetricThreshold) and i + 1 >= window:
            holds = _HOLDS[rule.cmp](aggregate(values[i + 1 - window : i + 1]), rule.threshold)
        elif isinstance(rule, MetricChange) and i + 1 >= 2 * window:
            current = aggregate(values[i + 1 - window : i + 1])
            prior = aggregate(values[i + 1 - 2 * window : i + 1 - window])
            delta: float | None = current - prior
            if rule.relative:
                delta = None if prior == 0 else (current - prior) / abs(prior)
            if delta is not None:
                moved = {"any": abs(delta), "increase": delta, "decrease": -delta}
                holds = moved[rule.direction] >= rule.amount
        if holds and not held:
            fired.append(i)
        held = bool(holds)
    return fired


numbers = st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, -1.0])
aggregates = st.sampled_from(["last", "avg", "min", "max"])
windows = st.integers(1, 4)
thresholds = st.builds(
    MetricThreshold,
    name=st.just("loss"),
    agg=aggregates,
    window=windows,
    cmp=st.sampled_from(["<", "<=", ">", ">="]),
    threshold=numbers,
)
changes = st.builds(
    MetricChange,
    name=st.just("loss"),
    agg=aggregates,
    window=windows,
    direction=st.sampled_from(["any", "increase", "decrease"]),
    amount=st.sampled_from([0.5, 1.0, 2.0]),
    relative=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    rules=st.lists(st.one_of(thresholds, changes), min_size=1, max_size=12),
    values=st.lists(numbers, max_size=40),
    cuts=st.lists(st.integers(0, 40), max_size=5),
)
def test_batches_fire_exactly_where_the_definition_does(rules, values, cuts):
    evaluator = MetricEvaluator(list(enumerate(rules)))
    window: list[float] = []
    fired: dict[int, list[int]] = {i: [] for i in range(len(rules))}
    bounds = sorted({0, len(values), *(c for c in cuts if c < len(values))})
    for start, end in zip(bounds, bounds[1:], strict=False):
        steps = list(range(start, end))
        for firing in evaluator.run("loss", window, steps, values[start:end]):
            fired[firing.automation_id].append(firing.step)
        assert len(window) <= evaluator.depth["loss"]
    assert fired == {i: reference(rule, values) for i, rule in enumerate(rules)}


def test_firings_carry_the_current_and_prior_aggregates_in_value_order():
    rules = [
        (1, MetricThreshold(name="loss", agg="avg", window=2, cmp="<", threshold=0.1)),
        (2, MetricChange(name="loss", agg="last", window=1, direction="decrease", amount=0.5)),
    ]
    evaluator = MetricEvaluator(rules)
    window: list[float] = []
    firings = evaluator.run("loss", window, [10, 11, 12], [1.0, 0.09, 0.08])
    assert [(f.automation_id, f.step) for f in firings] == [(2, 11), (1, 12)]
    assert firings[0].value == 0.09 and firings[0].previous == 1.0
    assert abs(firings[1].value - 0.085) < 1e-12 and firings[1].previous is None
    assert window == [0.09, 0.08]  # what the deepest condition needs, no more
