"""Event filters, and the small builder language that writes them.

    ArtifactEvent.alias.eq("production")          -> AliasFilter
    RunEvent.metric("loss").avg(5) < 0.1          -> MetricThreshold
    RunEvent.metric("acc").max(3).increases_by(frac=0.1)   -> MetricChange

A metric expression aggregates the last N logged values of one key (`avg`, `min`,
`max`; bare means the last value). A change filter compares that aggregate over the
current window with the same aggregate over the window just before it (non-overlapping,
"tumbling" windows), so it needs 2N values before it can hold.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_WINDOW = 100
MAX_ALIASES = 100

Aggregate = Literal["last", "avg", "min", "max"]
Comparison = Literal["<", "<=", ">", ">="]
Direction = Literal["any", "increase", "decrease"]


class AliasFilter(BaseModel):
    """Matches an alias event whose alias equals, matches (RE2 search) or is one of `value`."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["alias"] = "alias"
    op: Literal["eq", "regex", "in"]
    value: str | list[str]

    @model_validator(mode="after")
    def _check(self) -> "AliasFilter":
        if self.op == "in":
            if not isinstance(self.value, list) or not 0 < len(self.value) <= MAX_ALIASES:
                raise ValueError(f"alias 'in' takes a list of 1 to {MAX_ALIASES} aliases")
        elif not isinstance(self.value, str) or not self.value:
            raise ValueError(f"alias {self.op!r} takes one non-empty string")
        return self


class MetricThreshold(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["metric_threshold"] = "metric_threshold"
    name: str = Field(min_length=1, max_length=256)
    agg: Aggregate = "last"
    window: int = Field(default=1, ge=1, le=MAX_WINDOW, strict=True)
    cmp: Comparison
    # Strict: a JSON `false` is no number (ints still are).
    threshold: float = Field(allow_inf_nan=False, strict=True)


class MetricChange(BaseModel):
    """`amount` is absolute (`diff=`) or, when `relative`, a fraction of the prior window's
    aggregate (`frac=`); the change must reach it in `direction`."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["metric_change"] = "metric_change"
    name: str = Field(min_length=1, max_length=256)
    agg: Aggregate = "last"
    window: int = Field(default=1, ge=1, le=MAX_WINDOW, strict=True)
    direction: Direction = "any"
    amount: float = Field(gt=0, allow_inf_nan=False, strict=True)
    relative: bool = Field(default=False, strict=True)


MetricFilter = MetricThreshold | MetricChange


class _AliasField:
    def eq(self, alias: str) -> AliasFilter:
        return AliasFilter(op="eq", value=alias)

    def regex(self, pattern: str) -> AliasFilter:
        return AliasFilter(op="regex", value=pattern)

    def in_(self, aliases: list[str]) -> AliasFilter:
        return AliasFilter(op="in", value=list(aliases))


class ArtifactEvent:
    """Fields an artifact event can be filtered on."""

    alias = _AliasField()


class MetricExpr:
    """`RunEvent.metric(name)`, optionally aggregated; compare it or ask for a change."""

    def __init__(self, name: str, agg: Aggregate = "last", window: int = 1) -> None:
        self.name, self.agg, self.window = name, agg, window

    def avg(self, window: int) -> "MetricExpr":
        return MetricExpr(self.name, "avg", window)

    mean = avg

    def min(self, window: int) -> "MetricExpr":
        return MetricExpr(self.name, "min", window)

    def max(self, window: int) -> "MetricExpr":
        return MetricExpr(self.name, "max", window)

    def _compare(self, cmp: Comparison, threshold: float) -> MetricThreshold:
        return MetricThreshold(
            name=self.name, agg=self.agg, window=self.window, cmp=cmp, threshold=threshold
        )

    def __lt__(self, threshold: float) -> MetricThreshold:
        return self._compare("<", threshold)

    def __le__(self, threshold: float) -> MetricThreshold:
        return self._compare("<=", threshold)

    def __gt__(self, threshold: float) -> MetricThreshold:
        return self._compare(">", threshold)

    def __ge__(self, threshold: float) -> MetricThreshold:
        return self._compare(">=", threshold)

    def gt(self, threshold: float) -> MetricThreshold:
        return self._compare(">", threshold)

    def gte(self, threshold: float) -> MetricThreshold:
        return self._compare(">=", threshold)

    def lt(self, threshold: float) -> MetricThreshold:
        return self._compare("<", threshold)

    def lte(self, threshold: float) -> MetricThreshold:
        return self._compare("<=", threshold)

    def _change(self, direction: Direction, diff: float | None, frac: float | None) -> MetricChange:
        if (diff is None) == (frac is None):
            raise ValueError("give exactly one of diff= (absolute) or frac= (relative)")
        amount = diff if diff is not None else frac
        return MetricChange(
            name=self.name,
            agg=self.agg,
            window=self.window,
            direction=direction,
            amount=amount,  # type: ignore[arg-type]
            relative=frac is not None,
        )

    def changes_by(self, *, diff: float | None = None, frac: float | None = None) -> MetricChange:
        return self._change("any", diff, frac)

    def increases_by(self, *, diff: float | None = None, frac: float | None = None) -> MetricChange:
        return self._change("increase", diff, frac)

    def decreases_by(self, *, diff: float | None = None, frac: float | None = None) -> MetricChange:
        return self._change("decrease", diff, frac)


class RunEvent:
    """Fields a run event can be filtered on."""

    @staticmethod
    def metric(name: str) -> MetricExpr:
        return MetricExpr(name)
