"""Which process of a distributed job this is, from the launcher's environment.

torchrun and most launchers set `RANK` (global) and `LOCAL_RANK` (on this node);
Open MPI sets `OMPI_COMM_WORLD_RANK`. A process is the main one unless one of them
names another rank; a process started by none of them is main.
"""

import os

from sdk.errors import ValidationError

RANK_VARIABLES = ("RANK", "LOCAL_RANK", "OMPI_COMM_WORLD_RANK")


def is_main_process() -> bool:
    return all(_rank(name) in (None, 0) for name in RANK_VARIABLES)


def _rank(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationError(f"{name}={value!r} is not a process rank (an integer)") from None
