"""Artifact paths: `[project/]collection[:selector]` or `@registry/collection[:selector]`
(selector: v<N>, an alias or a digest; none means `latest`)."""

from dataclasses import dataclass

from sdk.errors import ValidationError

LATEST = "latest"


@dataclass(frozen=True)
class ArtifactPath:
    """`project` is set for a project's collection, `registry` for a registry's."""

    project: str | None
    collection: str
    selector: str
    registry: str | None = None

    @property
    def owner(self) -> str:
        return f"@{self.registry}" if self.registry else str(self.project)

    @property
    def collection_url(self) -> str:
        """The collection's REST path under /api/v1."""
        if self.registry:
            return f"/registries/{self.registry}/collections/{self.collection}"
        return f"/projects/{self.project}/collections/{self.collection}"

    def __str__(self) -> str:
        return f"{self.owner}/{self.collection}:{self.selector}"


def parse_artifact_path(path: str, default_project: str | None) -> ArtifactPath:
    if not isinstance(path, str) or not path.strip():
        raise ValidationError("artifact path must be a non-empty string like 'project/name:v0'")
    name, _, selector = path.partition(":")
    owner, slash, collection = name.rpartition("/")
    bad_selector = (":" in path and not selector) or any(c in selector for c in ":/")
    if not collection or "/" in owner or (slash and not owner) or bad_selector:
        raise ValidationError(
            f"{path!r} is not an artifact path like 'project/name:v0' or '@registry/name:alias'"
        )
    if owner.startswith("@"):
        if len(owner) == 1:
            raise ValidationError(f"{path!r} names no registry after '@'")
        return ArtifactPath(None, collection, selector or LATEST, registry=owner[1:])
    if collection.startswith("@"):
        raise ValidationError(f"{path!r}: a registry path needs a collection, '@registry/name'")
    if not slash:
        if default_project is None:
            raise ValidationError(f"{path!r} names no project: use 'project/name:selector'")
        owner = default_project
    return ArtifactPath(owner, collection, selector or LATEST)
