"""The four things a filter can search, with their fields and sort keys."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, not_, or_, true
from sqlmodel import col

from registry.errors import InvalidInput
from registry.models import Alias, ArtifactCollection, ArtifactVersion, Registry, Run, VersionTag
from registry.query.fields import (
    ColumnField,
    Expr,
    Field,
    JsonPathField,
    ListJsonField,
    ListTableField,
    RelatedField,
)
from registry.query.parse import And, Condition, Node, Not, Or


@dataclass(frozen=True)
class Target:
    table: Any
    fields: dict[str, Field]
    json_columns: dict[str, Any]
    sort_keys: dict[str, Any]

    def field(self, name: str) -> Field:
        if name in self.fields:
            return self.fields[name]
        root, _, path = name.partition(".")
        if root in self.json_columns and path:
            return JsonPathField(self.json_columns[root], tuple(path.split(".")))
        known = [*self.fields, *(f"{root}.<path>" for root in self.json_columns)]
        raise InvalidInput(f"unknown field {name[:100]!r}; fields here: {', '.join(known)}")

    def compile(self, node: Node, dialect: str, drives: bool = True) -> Expr:
        if isinstance(node, Condition):
            return self.field(node.field).condition(node, dialect, drives)
        if isinstance(node, Not):
            return not_(self.compile(node.part, dialect))
        if isinstance(node, And):
            if not node.parts:
                return true()
            first, *rest = sorted(node.parts, key=_narrowness)
            parts = [self.compile(first, dialect), *(self.compile(p, dialect, False) for p in rest)]
            return and_(true(), *parts)
        assert isinstance(node, Or)
        return or_(false(), *(self.compile(part, dialect) for part in node.parts))


# SQLite drives a search from the first `id IN (subquery)` it meets, whatever the
# statistics say, so ANDed conditions that pin few rows come first: an alias names
# one version per collection, a tag may name a third of the catalog.
_NARROWNESS = {"alias": 0, "digest": 0, "tag": 1}


def _narrowness(node: Node) -> int:
    if isinstance(node, Condition) and node.op in ("$eq", "$in"):
        return _NARROWNESS.get(node.field, 2)
    return 3


def _columns(table: Any, kinds: dict[str, str]) -> dict[str, Field]:
    return {name: ColumnField(col(getattr(table, name)), kind) for name, kind in kinds.items()}  # type: ignore[arg-type]


_TIMES = {"created_at": "time", "updated_at": "time"}

REGISTRIES = Target(
    table=Registry,
    fields=_columns(
        Registry, {"name": "string", "description": "string", "visibility": "string", **_TIMES}
    ),
    json_columns={},
    sort_keys={
        "id": Registry.id,
        "name": Registry.name,
        **{t: getattr(Registry, t) for t in _TIMES},
    },
)

COLLECTIONS = Target(
    table=ArtifactCollection,
    fields={
        **_columns(
            ArtifactCollection,
            {"name": "string", "description": "string", "type": "string", **_TIMES},
        ),
        "tag": ListJsonField(col(ArtifactCollection.tags)),
    },
    json_columns={},
    sort_keys={
        "id": ArtifactCollection.id,
        "name": ArtifactCollection.name,
        **{t: getattr(ArtifactCollection, t) for t in _TIMES},
    },
)


def _collection_field(name: str) -> RelatedField:
    column = ColumnField(col(getattr(ArtifactCollection, name)), "string")
    return RelatedField(col(ArtifactVersion.collection_id), col(ArtifactCollection.id), column)


VERSIONS = Target(
    table=ArtifactVersion,
    fields={
        "name": _collection_field("name"),
        "type": _collection_field("type"),
        **_columns(
            ArtifactVersion,
            {"description": "string", "digest": "string", "size": "number", **_TIMES},
        ),
        "version": ColumnField(col(ArtifactVersion.index), "version"),
        "tag": ListTableField(
            col(ArtifactVersion.id), col(VersionTag.version_id), col(VersionTag.tag)
        ),
        "alias": ListTableField(col(ArtifactVersion.id), col(Alias.version_id), col(Alias.name)),
    },
    json_columns={"metadata": col(ArtifactVersion.metadata_)},
    sort_keys={
        "id": ArtifactVersion.id,
        "size": ArtifactVersion.size,
        "version": ArtifactVersion.index,
        **{t: getattr(ArtifactVersion, t) for t in _TIMES},
    },
)

RUNS = Target(
    table=Run,
    fields={
        "id": ColumnField(col(Run.run_id), "string"),
        **_columns(Run, {"name": "string", "job_type": "string", "state": "string", **_TIMES}),
        "tag": ListJsonField(col(Run.tags)),
    },
    json_columns={"config": col(Run.config), "summary": col(Run.summary)},
    sort_keys={"id": Run.id, "name": Run.name, **{t: getattr(Run, t) for t in _TIMES}},
)

TARGETS = {"registries": REGISTRIES, "collections": COLLECTIONS, "versions": VERSIONS, "runs": RUNS}
