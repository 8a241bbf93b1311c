"""Regular expressions with RE2: matching takes linear time, so no pattern such as
`(a+)+$` can stall the service. Patterns RE2 refuses (backreferences, lookaround)
are refused by the filter parser too."""

from functools import lru_cache
from typing import Any

import re2


@lru_cache(maxsize=256)
def compile_regex(pattern: str, ignore_case: bool = False) -> Any:
    """Raises ValueError with RE2's reason for a pattern it cannot compile."""
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not ignore_case
    try:
        return re2.compile(pattern, options=options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        raise ValueError(reason.decode() if isinstance(reason, bytes) else str(reason)) from None


def regex_search(pattern: str, value: object, ignore_case: int) -> bool:
    """SQLite's `strata_regexp(pattern, value, ignore_case)`: true when the pattern
    occurs in a text value."""
    if not isinstance(value, str):
        return False
    try:
        return compile_regex(pattern, bool(ignore_case)).search(value) is not None
    except ValueError:
        return False
