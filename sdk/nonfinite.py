"""NaN and the infinities in JSON, which has no numbers for them.

On the wire they are the strings "NaN", "Infinity" and "-Infinity" (as in Protocol
Buffers' JSON mapping); every other value is a plain JSON number. Shared by the SDK
and the service so both spell them alike.
"""

import math

NAMES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def to_wire(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def from_wire(value: float | str) -> float:
    return NAMES[value] if isinstance(value, str) else float(value)
