"""`Lineage`: runs and versions around an artifact or run, as the server walked them."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LineageNode:
    """`id` is 'version:<project>/<collection>:v<N>' or 'run:<project>/<run id>'."""

    id: str
    kind: str
    name: str
    project: str
    type: str | None
    state: str
    depth: int


@dataclass(frozen=True)
class LineageEdge:
    """`uses`: version -> run that read it; `logs`: run -> version it produced."""

    source: str
    target: str
    kind: str


@dataclass(frozen=True)
class Lineage:
    root: str
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: bool

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Lineage":
        return cls(
            root=record["root"],
            nodes=[LineageNode(**node) for node in record["nodes"]],
            edges=[LineageEdge(**edge) for edge in record["edges"]],
            truncated=record["truncated"],
        )

    def node(self, node_id: str) -> LineageNode:
        return next(node for node in self.nodes if node.id == node_id)

    def parents(self, node_id: str) -> list[str]:
        return [edge.source for edge in self.edges if edge.target == node_id]

    def children(self, node_id: str) -> list[str]:
        return [edge.target for edge in self.edges if edge.source == node_id]
