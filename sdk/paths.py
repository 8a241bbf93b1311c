"""Artifact paths: `[project/]collection[:selector]` (selector: v<N>, alias or digest)."""

from dataclasses import dataclass

from sdk.errors import ValidationError

LATEST = "latest"


@dataclass(frozen=True)
class ArtifactPath:
    project: str
    collection: str
    selector: str

    def __str__(self) -> str:
        return f"{self.project}/{self.collection}:{self.selector}"


def parse_artifact_path(path: str, default_project: str) -> ArtifactPath:
    if not isinstance(path, str) or not path.strip():
        raise ValidationError("artifact path must be a non-empty string like 'project/name:v0'")
    if path.startswith("@"):
        raise ValidationError(f"{path!r}: registry paths are not supported by this client yet")
    name, _, selector = path.partition(":")
    project, slash, collection = name.rpartition("/")
    if not slash:
        project = default_project
    bad_selector = (":" in path and not selector) or any(c in selector for c in ":/")
    if not collection or "/" in project or bad_selector:
        raise ValidationError(f"{path!r} is not an artifact path like 'project/name:v0'")
    return ArtifactPath(project, collection, selector or LATEST)
