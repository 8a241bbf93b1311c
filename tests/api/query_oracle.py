"""A plain-Python evaluator of the filter language, for property tests of `/query`.

Written from the contract alone (the docstring of `registry/query/__init__.py`), never from
the server's code, so the two can disagree. It evaluates a filter on items shaped as the
REST API returns them (VersionPublic, CollectionPublic, RunPublic, RegistryPublic dicts).

Readings of the contract where it leaves room (the Mongo-like reading where there is one):
- JSON paths walk objects only. A path through an array, a scalar or null is missing:
  "metadata.k.0" does not index an array, and "metadata.k.x" does not look into the
  objects of an array k (Mongo would do both; the contract says neither).
- A JSON array or object at a path is "a value of another kind" for every scalar operand:
  {"metadata.k": 1} does not match k = [1, 2] (that is what `$contains` is for). Mongo would
  match here; the contract's kind rule says otherwise and is explicit.
- A missing JSON path does not match {"$eq": null} (a positive operator) and does match
  {"$ne": null} (its complement). Mongo treats missing as null; the contract says otherwise.
- On the list fields `tag` and `alias`, `$contains` is applied to each element as on a
  string (substring), following "match when any element satisfies the operator".
- "booleans and null only through $eq/$ne/$in/$nin" forbids $gt/$gte/$lt/$lte with a
  boolean or null operand: such a filter is invalid (not merely matching nothing).
- `$contains` with a null operand is refused (the contract names no operand type; null
  is no string, and the service refuses it).
- Several operators on one list field hold independently: {"tag": {"$gt": "a", "$lt":
  "c"}} asks for some tag above "a" and some tag below "c", maybe not the same one (as
  Mongo does without $elemMatch).
"""

import operator
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

TARGETS = ("registries", "collections", "versions", "runs")

# Field kinds: "string" and "number" columns, "time" (ISO 8601 operands), "version" (the
# index, operand 3 or "v3"), "list" (list of strings, any-element semantics), "json" (a
# dotted path into a JSON object).
FIELDS: dict[str, dict[str, str]] = {
    "registries": {
        "name": "string",
        "description": "string",
        "visibility": "string",
        "created_at": "time",
        "updated_at": "time",
    },
    "collections": {
        "name": "string",
        "description": "string",
        "type": "string",
        "tag": "list",
        "created_at": "time",
        "updated_at": "time",
    },
    "versions": {
        "name": "string",
        "type": "string",
        "description": "string",
        "tag": "list",
        "alias": "list",
        "digest": "string",
        "created_at": "time",
        "updated_at": "time",
        "version": "version",
        "size": "number",
    },
    "runs": {
        "id": "string",
        "name": "string",
        "job_type": "string",
        "state": "string",
        "tag": "list",
        "created_at": "time",
        "updated_at": "time",
    },
}
JSON_ROOTS: dict[str, tuple[str, ...]] = {
    "registries": (),
    "collections": (),
    "versions": ("metadata",),
    "runs": ("config", "summary"),
}
# Filter field -> key of the item that holds it, where they differ.
ITEM_KEYS: dict[str, dict[str, str]] = {
    "registries": {},
    "collections": {"tag": "tags"},
    "versions": {"name": "collection", "tag": "tags", "alias": "aliases", "version": "index"},
    "runs": {"tag": "tags"},
}

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}
OPERATORS = (
    "$eq",
    "$ne",
    *COMPARISONS,
    "$in",
    "$nin",
    "$exists",
    "$regex",
    "$options",
    "$contains",
    "$not",
)
LOGICAL = ("$and", "$or", "$nor")
VERSION_TEXT = re.compile(r"^v(\d+)$")


class InvalidFilter(ValueError):
    """The filter breaks the language's rules (the service answers 422)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def kind(value: Any) -> str:
    """The kind a value compares as: numbers with numbers, strings with strings, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "time"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if value is MISSING:
        return "missing"
    raise TypeError(f"not a JSON value: {value!r}")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; one without a zone is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise InvalidFilter(f"not an ISO 8601 time: {text!r}") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# ---------------------------------------------------------------------------- values


def field_kind(target: str, field: str) -> str:
    if field in FIELDS[target]:
        return FIELDS[target][field]
    root, dot, path = field.partition(".")
    if dot and root in JSON_ROOTS[target]:
        if any(segment == "" for segment in path.split(".")):
            raise InvalidFilter(f"empty segment in path {field!r}")
        return "json"
    raise InvalidFilter(f"unknown field {field!r} for {target}")


def field_value(target: str, item: dict[str, Any], field: str) -> Any:
    """The value the filter sees: MISSING for an absent JSON path, a list for list fields."""
    field_type = field_kind(target, field)
    if field_type == "json":
        root, _, path = field.partition(".")
        value: Any = item[root]
        for segment in path.split("."):
            if not isinstance(value, dict) or segment not in value:
                return MISSING
            value = value[segment]
        return value
    value = item[ITEM_KEYS[target].get(field, field)]
    if field_type == "time":
        return parse_time(value) if isinstance(value, str) else value
    return value


def _operand(field_type: str, op: str, operand: Any) -> Any:
    """Checks one scalar operand and brings it to the kind of the field's values."""
    if isinstance(operand, list | dict):
        raise InvalidFilter(f"{op} takes a scalar, not {operand!r}")
    if op in COMPARISONS and kind(operand) in ("bool", "null"):
        # "booleans and null only through $eq/$ne/$in/$nin": anything else is an error.
        raise InvalidFilter(f"{op} compares numbers, strings or times, not {operand!r}")
    if field_type == "time":
        if not isinstance(operand, str):
            raise InvalidFilter(f"{op} on a time field takes an ISO 8601 string")
        return parse_time(operand)
    if field_type == "version":
        if isinstance(operand, int) and not isinstance(operand, bool):
            return operand
        match = VERSION_TEXT.match(operand) if isinstance(operand, str) else None
        if match is None:
            raise InvalidFilter(f"version takes 3 or 'v3', not {operand!r}")
        return int(match.group(1))
    # Columns have one kind and refuse operands of another; JSON paths take any scalar.
    if field_type in ("string", "list") and not isinstance(operand, str):
        raise InvalidFilter(f"{op} on a string field takes a string, not {operand!r}")
    if field_type == "number" and kind(operand) != "number":
        raise InvalidFilter(f"{op} on a number field takes a number, not {operand!r}")
    return operand


# ------------------------------------------------------------------------- operators


def equal(value: Any, operand: Any) -> bool:
    """$eq on one value: same kind and equal (1 == 1.0, but True is not 1)."""
    return (
        kind(value) == kind(operand)
        and kind(value) not in ("array", "object")
        and (value == operand)
    )


def ordered(op: str, value: Any, operand: Any) -> bool:
    """$gt and friends: numbers with numbers, strings (by code point) or times alike."""
    value_kind = kind(value)
    if value_kind != kind(operand) or value_kind not in ("number", "string", "time"):
        return False
    return COMPARISONS[op](value, operand)


def _regex(condition: dict[str, Any]) -> re.Pattern[str]:
    pattern = condition["$regex"]
    if not isinstance(pattern, str):
        raise InvalidFilter("$regex takes a string")
    options = condition.get("$options", "")
    if options not in ("", "i"):
        raise InvalidFilter(f"unknown $options {options!r}")
    try:
        return re.compile(pattern, re.IGNORECASE if options == "i" else 0)
    except re.error as error:
        raise InvalidFilter(f"bad regex {pattern!r}") from error


def _positive(op: str, value: Any, operand: Any, condition: dict[str, Any]) -> bool:
    """A positive operator on one value (an element, for list fields)."""
    if op == "$eq":
        return equal(value, operand)
    if op in COMPARISONS:
        return ordered(op, value, operand)
    if op == "$in":
        return any(equal(value, choice) for choice in operand)
    if op == "$regex":
        return isinstance(value, str) and _regex(condition).search(value) is not None
    if op == "$contains":
        if isinstance(value, str):
            return isinstance(operand, str) and operand in value
        if isinstance(value, list):
            return any(equal(element, operand) for element in value)
        return False
    raise AssertionError(op)


NEGATIONS = {"$ne": "$eq", "$nin": "$in"}


def condition_holds(field_type: str, value: Any, condition: Any) -> bool:
    """Every operator of `condition` (a scalar is shorthand for $eq) holds on `value`."""
    if not isinstance(condition, dict):
        condition = {"$eq": condition}
    if not condition:
        raise InvalidFilter("empty operator object")
    results = [_operator_holds(field_type, value, op, condition) for op in condition]
    return all(results)


def _operator_holds(field_type: str, value: Any, op: str, condition: dict[str, Any]) -> bool:
    operand = condition[op]
    if op not in OPERATORS:
        raise InvalidFilter(f"unknown operator {op!r}")
    if op == "$options":
        if "$regex" not in condition:
            raise InvalidFilter("$options without $regex")
        return True
    if op == "$not":
        if not isinstance(operand, dict) or not operand:
            raise InvalidFilter("$not takes a non-empty operator object")
        return not condition_holds(field_type, value, operand)
    if op == "$exists":
        if not isinstance(operand, bool):
            raise InvalidFilter("$exists takes true or false")
        if field_type == "list":
            return (len(value) > 0) == operand
        return (value is not MISSING) == operand
    if op in ("$in", "$nin"):
        if not isinstance(operand, list):
            raise InvalidFilter(f"{op} takes a list")
        operand = [_operand(field_type, op, choice) for choice in operand]
    elif op == "$regex":
        _regex(condition)
    elif op == "$contains" and operand is None:
        # Not said by the contract; the service refuses it, which is a fair reading of
        # "wrong operand type" (null is no string, and only arrays could hold it).
        raise InvalidFilter("$contains takes a string, number or boolean")
    else:
        operand = _operand(field_type, op, operand)

    positive = NEGATIONS.get(op, op)
    if field_type == "list":
        holds = any(_positive(positive, element, operand, condition) for element in value)
    else:
        holds = value is not MISSING and _positive(positive, value, operand, condition)
    return not holds if op in NEGATIONS else holds


# --------------------------------------------------------------------------- filters


def matches(target: str, item: dict[str, Any], flt: dict[str, Any] | None) -> bool:
    """Whether `item` (a REST item of `target`) passes `flt` (None and {} pass all)."""
    if flt is None:
        return True
    if not isinstance(flt, dict):
        raise InvalidFilter("a filter is a JSON object")
    results = []
    for key, clause in flt.items():
        if key in LOGICAL:
            if not isinstance(clause, list) or not clause:
                raise InvalidFilter(f"{key} takes a non-empty list of filters")
            parts = [matches(target, item, sub) for sub in clause]
            results.append(
                all(parts) if key == "$and" else any(parts) if key == "$or" else not any(parts)
            )
        elif key.startswith("$"):
            raise InvalidFilter(f"unknown top-level operator {key!r}")
        else:
            field_type = field_kind(target, key)
            results.append(condition_holds(field_type, field_value(target, item, key), clause))
    return all(results)


def evaluate(
    target: str, items: Iterable[dict[str, Any]], flt: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The items that pass the filter, in the order given."""
    return [item for item in items if matches(target, item, flt)]


def sort_key(target: str, item: dict[str, Any], sort: str) -> Any:
    """The value a `sort` orders by, comparable across the items of one target."""
    if sort in ("created_at", "updated_at"):
        return parse_time(item[sort]) if isinstance(item[sort], str) else item[sort]
    return item[{"name": ITEM_KEYS[target].get("name", "name"), "version": "index"}.get(sort, sort)]
