"""Artifact types: the well-known names, and the rule every type name follows.

Any name made of letters, digits, `_`, `.` and `-` is a type; the well-known ones are
those other trackers and tools agree on, so a dataset logged here reads as a dataset
there. Shared by the SDK (which checks a draft's type) and the service (which checks
every type it is sent).
"""

import re

WELL_KNOWN_TYPES = (
    "model",
    "checkpoint",
    "weights",
    "dataset",
    "sample",
    "image",
    "audio",
    "video",
    "viz",
    "report",
    "config",
    "code",
)
TYPE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
TYPE_RULE = "use 1-64 letters, digits, '_', '.' or '-'"


def is_type_name(value: object) -> bool:
    return isinstance(value, str) and TYPE_PATTERN.match(value) is not None
