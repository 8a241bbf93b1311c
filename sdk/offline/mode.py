"""Which mode `sdk.init` starts a run in: `online` (the default) or `offline`."""

from sdk.errors import ValidationError
from sdk.settings import ClientSettings

MODES = ("online", "offline")


def offline_mode(mode: str | None) -> bool:
    """True for `mode="offline"`, or with no `mode`, for `STRATA_MODE=offline`."""
    chosen = mode if mode is not None else ClientSettings().mode
    if chosen not in MODES:
        raise ValidationError(f"mode must be one of {', '.join(MODES)}, not {chosen!r}")
    return chosen == "offline"
