"""Lineage: the graph of runs and versions, walked up or downstream level by level.

Edges follow the data: `version --uses--> run` (the run read it) and
`run --logs--> version` (the run produced it). Upstream of a node is everything it
came from; downstream is everything made from it. A registry link stands for the
version it links to, so a graph never contains portfolio rows. Each level costs two
queries whatever its width; recording an input that would close a loop is refused,
so the graph stays acyclic.
"""

from dataclasses import dataclass, field
from typing import Literal

from sqlmodel import Session, col, select

from registry.db import QUERY_CHUNK
from registry.errors import Conflict, InvalidInput
from registry.models import ArtifactVersion, Run, RunInput

Direction = Literal["upstream", "downstream", "both"]
MAX_NODES = 5000


@dataclass
class LineageGraph:
    """Node ids are table ids; `depth` maps ("version"|"run", id) to its distance."""

    depth: dict[tuple[str, int], int] = field(default_factory=dict)
    # ("uses", version_id, run_id) or ("logs", run_id, version_id)
    edges: set[tuple[str, int, int]] = field(default_factory=set)
    truncated: bool = False

    def ids(self, kind: str) -> set[int]:
        return {node_id for node_kind, node_id in self.depth if node_kind == kind}


def source_of(session: Session, version: ArtifactVersion) -> ArtifactVersion:
    """The project version a registry link points at (a project version is its own)."""
    if version.source_version_id is None:
        return version
    source = session.get(ArtifactVersion, version.source_version_id)
    assert source is not None
    return source


def lineage(
    session: Session,
    root: tuple[str, int],
    direction: Direction = "both",
    depth: int | None = None,
    max_nodes: int | None = MAX_NODES,
) -> LineageGraph:
    if direction not in ("upstream", "downstream", "both"):
        raise InvalidInput(
            f"direction must be 'upstream', 'downstream' or 'both', not {direction!r}"
        )
    if depth is not None and depth < 0:
        raise InvalidInput(f"depth must be a non-negative integer, not {depth}")
    graph = LineageGraph(depth={root: 0})
    for walk in ("upstream", "downstream"):
        if direction in (walk, "both"):
            _walk(session, graph, root, walk == "upstream", depth, max_nodes)
    return graph


def check_no_cycle(session: Session, run: Run, version: ArtifactVersion) -> None:
    """Refuse `run --uses--> version` when the version descends from the run."""
    downstream = lineage(session, ("run", run.id), "downstream", max_nodes=None)  # type: ignore[arg-type]
    if ("version", version.id) in downstream.depth:
        raise Conflict(
            f"run {run.run_id} cannot use version {version.id}: it was made from this run's "
            "outputs, and lineage may not form a cycle"
        )


def _walk(
    session: Session,
    graph: LineageGraph,
    root: tuple[str, int],
    upstream: bool,
    max_depth: int | None,
    max_nodes: int | None,
) -> None:
    frontier = {root}
    level = 0
    while frontier and (max_depth is None or level < max_depth):
        level += 1
        versions = [node_id for kind, node_id in frontier if kind == "version"]
        runs = [node_id for kind, node_id in frontier if kind == "run"]
        edges = []
        for start in range(0, max(len(versions), len(runs)), QUERY_CHUNK):
            chunk = slice(start, start + QUERY_CHUNK)
            find = _edges_up if upstream else _edges_down
            edges += find(session, set(versions[chunk]), set(runs[chunk]))
        frontier = set()
        for edge in edges:
            graph.edges.add(edge)
            kind, source, target = edge
            neighbour_id = source if upstream else target
            neighbour_kind = (
                ("version" if kind == "uses" else "run")
                if upstream
                else ("run" if kind == "uses" else "version")
            )
            node = (neighbour_kind, neighbour_id)
            if node not in graph.depth:
                if max_nodes is not None and len(graph.depth) >= max_nodes:
                    graph.truncated = True
                    graph.edges.discard(edge)
                    continue
                graph.depth[node] = level
                frontier.add(node)


def _edges_up(session: Session, versions: set[int], runs: set[int]) -> list[tuple[str, int, int]]:
    edges: list[tuple[str, int, int]] = []
    if versions:
        producers = session.exec(
            select(ArtifactVersion.id, ArtifactVersion.producer_run_id).where(
                col(ArtifactVersion.id).in_(versions),
                col(ArtifactVersion.producer_run_id).is_not(None),
            )
        )
        edges += [("logs", run_id, version_id) for version_id, run_id in producers]  # type: ignore[misc]
    if runs:
        inputs = session.exec(
            select(RunInput.version_id, RunInput.run_id).where(col(RunInput.run_id).in_(runs))
        )
        edges += [("uses", version_id, run_id) for version_id, run_id in inputs]
    return edges


def _edges_down(session: Session, versions: set[int], runs: set[int]) -> list[tuple[str, int, int]]:
    edges: list[tuple[str, int, int]] = []
    if versions:
        consumers = session.exec(
            select(RunInput.version_id, RunInput.run_id).where(
                col(RunInput.version_id).in_(versions)
            )
        )
        edges += [("uses", version_id, run_id) for version_id, run_id in consumers]
    if runs:
        outputs = session.exec(
            select(ArtifactVersion.producer_run_id, ArtifactVersion.id).where(
                col(ArtifactVersion.producer_run_id).in_(runs)
            )
        )
        edges += [("logs", run_id, version_id) for run_id, version_id in outputs]  # type: ignore[misc]
    return edges
