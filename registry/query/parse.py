"""Parse a JSON filter into a small tree, enforcing the limits. Nothing here knows SQL:
fields are only checked for their shape; `compile.py` knows which exist."""

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from registry.errors import InvalidInput
from registry.limits import Limits, json_size
from registry.query.regex import compile_regex

MAX_IN_ITEMS = 1000
MAX_REGEX_LENGTH = 256
MAX_STRING_LENGTH = 4096
MAX_PATH_SEGMENTS = 8
FIELD_PATTERN = re.compile(rf"^[a-z_]+(\.[A-Za-z0-9_-]{{1,128}}){{0,{MAX_PATH_SEGMENTS}}}$")

COMPARISONS = ("$eq", "$gt", "$gte", "$lt", "$lte")
FIELD_OPERATORS = (
    *COMPARISONS,
    "$ne",
    "$in",
    "$nin",
    "$exists",
    "$regex",
    "$options",
    "$contains",
    "$not",
)
LOGICAL_OPERATORS = ("$and", "$or", "$nor")

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Condition:
    """A positive test of one field: `op` is a comparison, $in, $exists, $regex or
    $contains. Negations ($ne, $nin, $not) become `Not(Condition)`."""

    field: str
    op: str
    operand: Any
    ignore_case: bool = False


@dataclass(frozen=True)
class And:
    parts: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    parts: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    part: "Node"


Node = Condition | And | Or | Not


def parse_filter(raw: object, limits: Limits) -> Node:
    size = json_size(raw)
    if size > limits.filter_bytes:
        raise InvalidInput(
            f"filter is {size} bytes as JSON; at most {limits.filter_bytes} "
            "(STRATA_MAX_FILTER_BYTES)"
        )
    return _Parser(limits).filter(raw, depth=1)


class _Parser:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.conditions = 0

    def check_depth(self, depth: int) -> None:
        if depth > self.limits.filter_depth:
            raise InvalidInput(
                f"filter nests deeper than {self.limits.filter_depth} levels "
                "(STRATA_MAX_FILTER_DEPTH)"
            )

    def count_condition(self) -> None:
        self.conditions += 1
        if self.conditions > self.limits.filter_conditions:
            raise InvalidInput(
                f"filter has more than {self.limits.filter_conditions} conditions "
                "(STRATA_MAX_FILTER_CONDITIONS)"
            )

    def filter(self, raw: object, depth: int) -> Node:
        self.check_depth(depth)
        if not isinstance(raw, dict):
            raise InvalidInput(f"a filter must be a JSON object, not {_kind(raw)}")
        parts: list[Node] = []
        for key, value in raw.items():
            if key in LOGICAL_OPERATORS:
                parts.append(self.logical(key, value, depth))
            elif key.startswith("$"):
                raise InvalidInput(
                    f"unknown operator {key!r} at the top of a filter; "
                    f"use one of {', '.join(LOGICAL_OPERATORS)} or a field name"
                )
            else:
                parts.append(self.field(key, value, depth))
        return _all(parts)

    def logical(self, op: str, value: object, depth: int) -> Node:
        if not isinstance(value, list) or not value:
            raise InvalidInput(f"{op} takes a non-empty list of filters")
        parts = tuple(self.filter(item, depth + 1) for item in value)
        if op == "$and":
            return And(parts)
        return Or(parts) if op == "$or" else Not(Or(parts))

    def field(self, name: str, value: object, depth: int) -> Node:
        if not FIELD_PATTERN.match(name):
            raise InvalidInput(
                f"invalid field {name[:100]!r}: a field is a name, or a dotted path like "
                "'metadata.train.acc' of letters, digits, '_' and '-'"
            )
        if isinstance(value, dict) and any(k.startswith("$") for k in value):
            return self.operators(name, value, depth)
        return self.condition(name, "$eq", value)

    def operators(self, name: str, ops: dict[str, Any], depth: int) -> Node:
        self.check_depth(depth)
        unknown = [op for op in ops if op not in FIELD_OPERATORS]
        if unknown:
            raise InvalidInput(
                f"unknown operator {unknown[0][:100]!r} on field {name!r}; "
                f"use one of {', '.join(op for op in FIELD_OPERATORS if op != '$options')}"
            )
        if "$options" in ops and "$regex" not in ops:
            raise InvalidInput(f"$options on field {name!r} needs a $regex beside it")
        parts: list[Node] = []
        for op, operand in ops.items():
            if op == "$options":
                continue
            if op == "$not":
                if not isinstance(operand, dict) or not operand:
                    raise InvalidInput(f"$not on field {name!r} takes an object of operators")
                parts.append(Not(self.operators(name, operand, depth + 1)))
            elif op == "$ne":
                parts.append(Not(self.condition(name, "$eq", operand)))
            elif op == "$nin":
                parts.append(Not(self.condition(name, "$in", operand)))
            elif op == "$regex":
                parts.append(self.regex(name, operand, ops.get("$options", "")))
            else:
                parts.append(self.condition(name, op, operand))
        return _all(parts)

    def condition(self, name: str, op: str, operand: object) -> Condition:
        self.count_condition()
        if op == "$in":
            if not isinstance(operand, list):
                raise InvalidInput(f"$in on field {name!r} takes a list, not {_kind(operand)}")
            if len(operand) > MAX_IN_ITEMS:
                raise InvalidInput(
                    f"$in on field {name!r} has {len(operand)} items; at most {MAX_IN_ITEMS}"
                )
            return Condition(name, op, tuple(_scalar(name, op, item) for item in operand))
        if op == "$exists":
            if not isinstance(operand, bool):
                raise InvalidInput(f"$exists on field {name!r} takes true or false")
            return Condition(name, op, operand)
        value = _scalar(name, op, operand)
        if op in COMPARISONS[1:] and (value is None or isinstance(value, bool)):
            raise InvalidInput(f"{op} on field {name!r} compares numbers, strings or times")
        if op == "$contains" and value is None:
            raise InvalidInput(f"$contains on field {name!r} takes a string, number or boolean")
        return Condition(name, op, value)

    def regex(self, name: str, pattern: object, options: object) -> Condition:
        self.count_condition()
        if not isinstance(pattern, str):
            raise InvalidInput(f"$regex on field {name!r} takes a string, not {_kind(pattern)}")
        if len(pattern) > MAX_REGEX_LENGTH:
            raise InvalidInput(f"$regex on field {name!r} is longer than {MAX_REGEX_LENGTH}")
        if options not in ("", "i"):
            raise InvalidInput(f"$options on field {name!r} may only be 'i' (ignore case)")
        try:
            compile_regex(pattern, options == "i")
        except ValueError as exc:
            raise InvalidInput(
                f"$regex on field {name!r} is not a valid RE2 pattern: {exc}"
            ) from None
        return Condition(name, "$regex", pattern, ignore_case=options == "i")


def _all(parts: list[Node]) -> Node:
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def parse_time(field: str, value: object) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput(f"field {field!r} compares with ISO 8601 times, not {_kind(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"field {field!r}: {value[:100]!r} is not an ISO 8601 time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _scalar(field: str, op: str, value: object) -> Scalar:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{op} on field {field!r}: numbers must be finite")
    if isinstance(value, str) and len(value) > MAX_STRING_LENGTH:
        raise InvalidInput(f"{op} on field {field!r}: strings are limited to {MAX_STRING_LENGTH}")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        raise InvalidInput(f"{op} on field {field!r}: integers must fit in 64 bits")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise InvalidInput(f"{op} on field {field!r} takes a scalar value, not {_kind(value)}")


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")
