"""Validation of user-chosen names: projects, collections, types, aliases, tags."""

import re

from registry.errors import InvalidInput
from sdk.artifact_types import TYPE_RULE, is_type_name
from sdk.digest import is_digest

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
VERSION_PATTERN = re.compile(r"^v(\d+)$")
LATEST = "latest"


def check_name(kind: str, value: str) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        raise InvalidInput(
            f"invalid {kind} name {value!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def check_type(value: str) -> str:
    """An artifact type: a well-known one (`model`, `dataset`, ...) or any custom name."""
    if not is_type_name(value):
        raise InvalidInput(f"invalid artifact type {value!r}: {TYPE_RULE}")
    return value


def check_alias(value: str) -> str:
    check_name("alias", value)
    if VERSION_PATTERN.match(value) or is_digest(value):
        raise InvalidInput(f"alias {value!r} looks like a version or a digest; choose another")
    return value


def check_tags(values: list[str]) -> list[str]:
    return sorted({check_name("tag", value) for value in values})
