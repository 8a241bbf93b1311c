"""What the registry tells the bus: one change, described by ids (for scope matching)
and by the template variables its automations may use."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ArtifactChange:
    """`artifact.created`, `artifact.linked` or `alias.added`."""

    type: str
    project_id: int | None
    registry_id: int | None
    collection_id: int
    version_id: int
    # Aliases the filter is matched against: the one added, or those a link gave.
    aliases: tuple[str, ...]
    variables: dict[str, Any]
    author: str = ""


@dataclass(frozen=True)
class MetricBatch:
    """Points one request logged to one run, in logging order: (key, step, value)
    tuples, since a batch holds thousands."""

    project_id: int
    run_id: int
    points: list[tuple[str, int, float]]
    variables: dict[str, Any] = field(default_factory=dict)  # project_name, run_id, run_name
    author: str = ""
