"""Lineage drawn as layers: the root in the middle, what it came from to the left, what
was made from it to the right.

Each node's column is its longest path from the root (negative upstream), so every
edge points to the right. A column taller than `MAX_ROWS` wraps into side-by-side
sub-columns, so a graph of a few hundred nodes stays within a screen's height and
every label stays legible; the page pans and zooms the SVG (static/app.js).
"""

import re
from collections import defaultdict
from dataclasses import dataclass

from registry.schemas import LineageNode, LineagePublic

NODE_WIDTH, NODE_HEIGHT = 200, 30
COLUMN_GAP, ROW_GAP = 70, 10
MAX_ROWS = 24
MARGIN = 16
LABEL_CHARS = 27


@dataclass(frozen=True)
class PlacedNode:
    node: LineageNode
    x: int
    y: int
    label: str
    root: bool


@dataclass(frozen=True)
class PlacedEdge:
    source: str
    target: str
    kind: str
    path: str  # SVG path data


@dataclass(frozen=True)
class Layout:
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]
    width: int
    height: int


def layout(graph: LineagePublic) -> Layout:
    ranks = _ranks(graph)
    columns: dict[int, list[LineageNode]] = defaultdict(list)
    for node in graph.nodes:
        columns[ranks[node.id]].append(node)
    stacks = [
        members[start : start + MAX_ROWS]
        for rank in sorted(columns)
        for members in [sorted(columns[rank], key=_natural)]
        for start in range(0, len(members), MAX_ROWS)
    ]
    tallest = max((len(stack) for stack in stacks), default=0)
    placed: dict[str, PlacedNode] = {}
    x = MARGIN
    for stack in stacks:
        # Shorter stacks are centred on the tallest one.
        top = MARGIN + (tallest - len(stack)) * (NODE_HEIGHT + ROW_GAP) // 2
        for row, node in enumerate(stack):
            y = top + row * (NODE_HEIGHT + ROW_GAP)
            placed[node.id] = PlacedNode(node, x, y, _label(node), node.id == graph.root)
        x += NODE_WIDTH + COLUMN_GAP
    height = 2 * MARGIN + tallest * (NODE_HEIGHT + ROW_GAP) - ROW_GAP
    edges = [
        PlacedEdge(e.source, e.target, e.kind, _curve(placed[e.source], placed[e.target]))
        for e in graph.edges
        if e.source in placed and e.target in placed
    ]
    width = x - COLUMN_GAP + MARGIN if placed else 2 * MARGIN
    return Layout(list(placed.values()), edges, width, max(height, 2 * MARGIN))


def _ranks(graph: LineagePublic) -> dict[str, int]:
    """Longest path from the root along the edges (downstream, positive) and against
    them (upstream, negative). The graph is acyclic, so both are well defined."""
    forward: dict[str, list[str]] = defaultdict(list)
    backward: dict[str, list[str]] = defaultdict(list)
    for edge in graph.edges:
        forward[edge.source].append(edge.target)
        backward[edge.target].append(edge.source)
    ranks = {graph.root: 0}
    for step, neighbours in ((1, forward), (-1, backward)):
        for node, distance in _longest_paths(graph.root, neighbours).items():
            if node != graph.root and node not in ranks:
                ranks[node] = step * distance
    # A node the walk stopped at (the graph was truncated) still gets a column.
    for member in graph.nodes:
        ranks.setdefault(member.id, member.depth)
    return ranks


def _longest_paths(root: str, neighbours: dict[str, list[str]]) -> dict[str, int]:
    reachable: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node not in reachable:
            reachable.add(node)
            stack.extend(neighbours[node])
    incoming: dict[str, int] = defaultdict(int)
    for node in reachable:
        for neighbour in neighbours[node]:
            incoming[neighbour] += 1
    distance = {root: 0}
    ready = [root]
    while ready:  # Kahn's order: a node is placed once every path into it is known
        node = ready.pop()
        for neighbour in neighbours[node]:
            distance[neighbour] = max(distance.get(neighbour, 0), distance[node] + 1)
            incoming[neighbour] -= 1
            if incoming[neighbour] == 0:
                ready.append(neighbour)
    return distance


def _natural(node: LineageNode) -> tuple[str, list[str | int], str]:
    """Runs before versions, then by name with numbers in numeric order (v2 before v10)."""
    parts = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", node.name)]
    return node.kind, parts, node.id


def _label(node: LineageNode) -> str:
    text = node.name
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _curve(source: PlacedNode, target: PlacedNode) -> str:
    x1, y1 = source.x + NODE_WIDTH, source.y + NODE_HEIGHT // 2
    x2, y2 = target.x, target.y + NODE_HEIGHT // 2
    bend = max((x2 - x1) // 2, 30)
    return f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"
