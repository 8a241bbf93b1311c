"""What `run.log` accepts: metric values and the step each one lands on.

Checked when `log` is called, so a bad value raises in the training loop, naming its
key, instead of failing a background batch later with the good points around it.

Steps: `log` without `step` uses the run's current step and, with `commit=True` (the
default), advances it. A key's steps only increase; the same step again is allowed
while it is still open (logged with `commit=False` and not advanced since). A resumed
run continues after the highest step it logged before.
"""

import math
from datetime import UTC, datetime
from numbers import Real
from typing import Any

from sdk import nonfinite
from sdk.errors import ValidationError

MAX_KEY_LENGTH = 256


def metric_value(key: Any, value: Any, allow_nonfinite: bool) -> float:
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH:
        raise ValidationError(
            f"metric key {key!r} must be a string of 1-{MAX_KEY_LENGTH} characters"
        )
    if type(value) is not float and (isinstance(value, bool) or not isinstance(value, Real)):
        raise ValidationError(f"metric {key!r} must be a number, not {value!r}")
    number = float(value)
    if not allow_nonfinite and not math.isfinite(number):
        raise ValidationError(
            f"metric {key!r} is {number}; pass allow_nonfinite=True to store NaN and infinities"
        )
    return number


class MetricSteps:
    def __init__(self, next_step: int) -> None:
        self.next = next_step
        self._resumed_at = next_step
        self._last: dict[str, int] = {}

    def place(self, keys: list[str], step: Any) -> int:
        """The step these keys are logged at; raises ValidationError if one would go back."""
        if step is None:
            current = self.next
        elif isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValidationError(f"step must be a non-negative integer, not {step!r}")
        else:
            current = step
        if current < self._resumed_at:
            raise ValidationError(
                f"step {current} is before step {self._resumed_at}, where this resumed run "
                "continues"
            )
        for key in keys:
            last = self._last.get(key)
            if last is not None and (current < last or (current == last < self.next)):
                raise ValidationError(
                    f"metric {key!r} was logged at step {last}; step {current} does not follow it"
                )
        return current

    def record(self, keys: list[str], step: int, commit: bool) -> None:
        for key in keys:
            self._last[key] = step
        if commit:
            self.next = max(self.next, step + 1)


def wire_points(
    values: dict[str, float], step: int, nonfinite_allowed: bool
) -> list[dict[str, Any]]:
    """The points as the service takes them; values are finite unless `nonfinite_allowed`."""
    now = datetime.now(UTC).isoformat()
    spell = nonfinite.to_wire if nonfinite_allowed else float
    return [
        {"key": key, "step": step, "value": spell(value), "timestamp": now}
        for key, value in values.items()
    ]
