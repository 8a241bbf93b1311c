"""What a filter may name, per target, and how each field becomes SQL.

Every expression built here is two-valued (never NULL), so NOT and the negating
operators ($ne, $nin, $not, $nor) are exact complements on every database.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Numeric,
    Text,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH
from sqlalchemy.sql.elements import ColumnElement

from registry.errors import InvalidInput
from registry.query.parse import COMPARISONS, Condition, parse_time
from registry.services.names import VERSION_PATTERN

Kind = Literal["string", "number", "time", "version"]
Expr = ColumnElement[bool]


def _compare(left: Any, op: str, right: Any) -> Expr:
    return {
        "$eq": left == right,
        "$gt": left > right,
        "$gte": left >= right,
        "$lt": left < right,
        "$lte": left <= right,
    }[op]


class Field(Protocol):
    def condition(self, cond: Condition, dialect: str, drives: bool = True) -> Expr:
        """`drives` is false for an ANDed condition after the first (see ListTableField)."""
        ...


@dataclass(frozen=True)
class ColumnField:
    """A non-null column of one kind; operands of another kind are refused."""

    column: Any
    kind: Kind

    def condition(self, cond: Condition, dialect: str, drives: bool = True) -> Expr:
        if cond.op == "$exists":
            return true() if cond.operand else false()
        if cond.op in ("$regex", "$contains"):
            _expect_string(cond, cond.operand)
            if cond.op == "$regex":
                return regex(self.column, cond.operand, cond.ignore_case, dialect)
            return contains_text(self.column, cond.operand, dialect)
        if cond.op == "$in":
            values = [self._value(cond, item, dialect) for item in cond.operand]
            return self.column.in_(values) if values else false()
        return _compare(self.column, cond.op, self._value(cond, cond.operand, dialect))

    def _value(self, cond: Condition, value: Any, dialect: str) -> Any:
        if self.kind == "string":
            return _expect_string(cond, value)
        if self.kind == "time":
            return parse_time(cond.field, value)
        if self.kind == "version" and isinstance(value, str):
            match = VERSION_PATTERN.match(value)
            if match is None:
                raise InvalidInput(f"field {cond.field!r} takes a number or 'v<N>', not {value!r}")
            value = int(match.group(1))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"field {cond.field!r} compares with numbers, not {value!r}")
        return postgres_number(value) if dialect == "postgresql" else value


def postgres_number(value: float) -> Any:
    """A number operand for PostgreSQL, which casts each parameter to a type: an
    integer goes as BIGINT and a float as the NUMERIC of its shortest decimal form, so
    that neither is cut to an INTEGER column's type (12345678901 out of range, 2.5
    rounded to 3) and JSON numbers, NUMERIC in JSONB, compare exactly."""
    if isinstance(value, int):
        return literal(value, BigInteger())
    return literal(Decimal(repr(value)), Numeric())


def _expect_string(cond: Condition, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"field {cond.field!r} compares with strings, not {value!r}")
    return value


@dataclass(frozen=True)
class RelatedField:
    """A field of a parent row: `key IN (SELECT id FROM parent WHERE ...)`."""

    key: Any
    parent_id: Any
    field: ColumnField

    def condition(self, cond: Condition, dialect: str, drives: bool = True) -> Expr:
        inner = self.field.condition(cond, dialect)
        return self.key.in_(select(self.parent_id).where(inner))


@dataclass(frozen=True)
class ListTableField:
    """A list kept in its own table (version tags, aliases): any element matches."""

    key: Any
    owner: Any
    element: Any

    def condition(self, cond: Condition, dialect: str, drives: bool = True) -> Expr:
        """`id IN (SELECT ...)` lets SQLite drive a search from the list's index; a
        condition that only checks rows found otherwise is a correlated EXISTS, since
        SQLite would build a second IN list in full (30,000 rows for a common tag)."""
        if cond.op == "$exists":
            present = self.key.in_(select(self.owner))
            return present if cond.operand else not_(present)
        inner = ColumnField(self.element, "string").condition(cond, dialect)
        if drives:
            return self.key.in_(select(self.owner).where(inner))
        return exists(select(literal(1)).where(self.owner == self.key, inner))


@dataclass(frozen=True)
class ListJsonField:
    """A JSON array of strings in a column (collection and run tags): any element matches."""

    column: Any

    def condition(self, cond: Condition, dialect: str, drives: bool = True) -> Expr:
        if dialect == "postgresql":
            if cond.op in ("$eq", "$in"):
                # The array holds only strings, so containing [value] is having it as an
                # element: a test the column's GIN index answers.
                values = cond.operand if cond.op == "$in" else (cond.operand,)
                strings = [_expect_string(cond, value) for value in values]
                return or_(false(), *(contains_document(self.column, [s]) for s in strings))
            elements = func.jsonb_array_elements_text(self.column).table_valued("value")
        else:
            elements = func.json_each(self.column).table_valued("value")
        if cond.op == "$exists":
            present = exists(select(literal(1)).select_from(elements))
            return present if cond.operand else not_(present)
        inner = ColumnField(elements.c.value, "string").condition(cond, dialect)
        return exists(select(literal(1)).select_from(elements).where(inner))


@dataclass(frozen=True)
class JsonPathField:
    """A dotted path into a JSON object column (metadata, config, summary). Values
    only match operands of their own JSON kind; a missing path matches nothing."""

    column: Any
    path: tuple[str, ...]

    def condition(self, cond: Condition, dialect: str, drives: bool = True) -> Expr:
        if dialect == "postgresql":
            json = _PostgresJson(self.column, self.path)
            exact = func.coalesce(self._condition(cond, json, dialect), false())
            # Outside COALESCE, where PostgreSQL can answer it from an index.
            candidates = json.candidates(cond)
            return exact if candidates is None else and_(candidates, exact)
        sqlite_json = _SqliteJson(self.column, self.path)
        return func.coalesce(self._condition(cond, sqlite_json, dialect), false())

    def _condition(self, cond: Condition, json: "_Json", dialect: str) -> Expr:
        op, operand = cond.op, cond.operand
        if op == "$exists":
            return json.present() if operand else not_(json.present())
        if op == "$regex":
            return and_(json.is_string(), regex(json.text(), operand, cond.ignore_case, dialect))
        if op == "$contains":
            in_array = json.array_contains(operand)
            if isinstance(operand, str):
                substring = contains_text(json.text(), operand, dialect)
                return or_(and_(json.is_string(), substring), in_array)
            return in_array
        if op == "$in":
            return json.one_of(operand)
        if op == "$eq":
            return json.equals(operand)
        if isinstance(operand, str):
            return and_(json.is_string(), _compare(json.text(), op, operand))
        assert op in COMPARISONS
        return json.compare_number(op, operand)


def _split_by_kind(values: tuple[Any, ...]) -> tuple[list[float], list[str], list[Any]]:
    """Numbers, strings, and the rest (booleans, null): each kind is matched apart,
    with one IN per kind rather than an OR per value (SQLite caps expression depth)."""
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    strings = [v for v in values if isinstance(v, str)]
    others = list({repr(v): v for v in values if v is None or isinstance(v, bool)}.values())
    return numbers, strings, others


class _Json(Protocol):
    def present(self) -> Expr: ...
    def is_string(self) -> Expr: ...
    def text(self) -> Any: ...
    def equals(self, value: Any) -> Expr: ...
    def one_of(self, values: tuple[Any, ...]) -> Expr: ...
    def compare_number(self, op: str, value: float) -> Expr: ...
    def array_contains(self, value: Any) -> Expr: ...


class _SqliteJson:
    """json_type() tells the kind ('integer', 'real', 'text', 'true', 'false', 'null',
    'array', 'object'; NULL when absent); json_extract() gives the value."""

    def __init__(self, column: Any, path: tuple[str, ...]) -> None:
        self.column = column
        self.path: Any = bindparam(None, "$" + "".join(f'."{segment}"' for segment in path))
        self.type = func.json_type(column, self.path)

    def present(self) -> Expr:
        return self.type.is_not(None)

    def is_string(self) -> Expr:
        return self.type == "text"

    def text(self) -> Any:
        return func.json_extract(self.column, self.path)

    def equals(self, value: Any) -> Expr:
        if value is None:
            return self.type == "null"
        if isinstance(value, bool):
            return self.type == ("true" if value else "false")
        if isinstance(value, str):
            return and_(self.type == "text", self.text() == value)
        return and_(self.type.in_(("integer", "real")), self.text() == value)

    def one_of(self, values: tuple[Any, ...]) -> Expr:
        numbers, strings, others = _split_by_kind(values)
        return or_(
            false(),
            and_(self.type.in_(("integer", "real")), self.text().in_(numbers))
            if numbers
            else false(),
            and_(self.type == "text", self.text().in_(strings)) if strings else false(),
            *(self.equals(value) for value in others),
        )

    def compare_number(self, op: str, value: float) -> Expr:
        return and_(self.type.in_(("integer", "real")), _compare(self.text(), op, value))

    def array_contains(self, value: Any) -> Expr:
        elements = func.json_each(self.column, self.path).table_valued("type", "value")
        if isinstance(value, bool):
            match = elements.c.type == ("true" if value else "false")
        elif isinstance(value, str):
            match = and_(elements.c.type == "text", elements.c.value == value)
        else:
            match = and_(elements.c.type.in_(("integer", "real")), elements.c.value == value)
        found = exists(select(literal(1)).select_from(elements).where(match))
        return and_(self.type == "array", found)


class _PostgresJson:
    """A strict JSON path walks object keys only, as on SQLite (`#>` would take
    "metadata.scores.0" as an array index); silent, it gives SQL NULL where the path
    is absent. jsonb_typeof() tells the kind, `#>>` gives the text. CASE guards the
    casts, whose evaluation order AND does not fix.

    `candidates` narrows equality and array membership to the rows that contain the
    document `{path: value}` (`@>`, answered by the column's GIN index); the exact
    test then keeps the kinds apart as for the other operators. Containment holds
    whenever the exact test does, so the result is the exact test's, read from the
    few rows the index finds."""

    def __init__(self, column: Any, path: tuple[str, ...]) -> None:
        self.column = column
        self.segments = path
        # Path segments are letters, digits, '_' and '-' (parse.FIELD_PATTERN): quoting
        # them is enough to make each one a key.
        strict_path = "strict $" + "".join(f'."{segment}"' for segment in path)
        self.value = func.jsonb_path_query_first(
            column, cast(literal(strict_path), JSONPATH), literal({}, JSONB), true()
        )
        self.type = func.jsonb_typeof(self.value)

    def candidates(self, cond: Condition) -> Expr | None:
        """The rows holding the operand at the path ($eq, $in), or an array with it
        ($contains a number or boolean); None for other operators."""
        if cond.op == "$eq":
            values = [cond.operand]
        elif cond.op == "$in":
            values = list(cond.operand)
        elif cond.op == "$contains" and not isinstance(cond.operand, str):
            values = [[cond.operand]]
        else:
            return None
        documents = []
        for document in values:
            for segment in reversed(self.segments):
                document = {segment: document}
            documents.append(document)
        return or_(false(), *(contains_document(self.column, d) for d in documents))

    def present(self) -> Expr:
        return self.value.is_not(None)

    def is_string(self) -> Expr:
        return self.type == "string"

    def text(self) -> Any:
        return self.value.op("#>>")(bindparam(None, [], type_=ARRAY(Text))).collate("C")

    def equals(self, value: Any) -> Expr:
        if value is None:
            return self.type == "null"
        if isinstance(value, bool):
            return and_(self.type == "boolean", self.text() == ("true" if value else "false"))
        if isinstance(value, str):
            return and_(self.type == "string", self.text() == value)
        return self.compare_number("$eq", value)

    def one_of(self, values: tuple[Any, ...]) -> Expr:
        numbers, strings, others = _split_by_kind(values)
        return or_(
            false(),
            self._number().in_([postgres_number(n) for n in numbers]) if numbers else false(),
            and_(self.type == "string", self.text().in_(strings)) if strings else false(),
            *(self.equals(value) for value in others),
        )

    def compare_number(self, op: str, value: float) -> Expr:
        return _compare(self._number(), op, postgres_number(value))

    def _number(self) -> Any:
        return case((self.type == "number", func.cast(self.text(), Numeric())))

    def array_contains(self, value: Any) -> Expr:
        elements = func.jsonb_array_elements(self.value).table_valued("value")
        element_type = func.jsonb_typeof(elements.c.value)
        element_text = elements.c.value.op("#>>")(bindparam(None, [], type_=ARRAY(Text)))
        if isinstance(value, bool):
            match = and_(element_type == "boolean", element_text == str(value).lower())
        elif isinstance(value, str):
            match = and_(element_type == "string", element_text == value)
        else:
            number = case((element_type == "number", func.cast(element_text, Numeric())))
            match = number == postgres_number(value)
        found = exists(select(literal(1)).select_from(elements).where(match))
        return case((self.type == "array", found), else_=false())


def contains_document(column: Any, document: Any) -> Expr:
    """PostgreSQL: the JSONB `column` contains `document` (`@>`)."""
    return column.bool_op("@>")(bindparam(None, document, type_=JSONB))


def contains_text(value: Any, substring: str, dialect: str) -> Expr:
    position = func.strpos if dialect == "postgresql" else func.instr
    return position(value, substring) > 0


def regex(value: Any, pattern: str, ignore_case: bool, dialect: str) -> Expr:
    if dialect == "postgresql":
        return value.op("~*" if ignore_case else "~")(pattern)
    return func.strata_regexp(pattern, value, int(ignore_case)) == 1
