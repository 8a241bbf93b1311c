"""Where each thing's page is: URLs built from what the service returns."""

from urllib.parse import quote, urlencode

from registry.schemas import LineageNode, RunRef, VersionPublic
from registry.services.collections import CollectionRef


def _q(part: str) -> str:
    return quote(part, safe="")


def collection_url(ref: CollectionRef) -> str:
    if ref.registry is not None:
        return f"/registries/{_q(ref.registry)}/collections/{_q(ref.name)}"
    return f"/projects/{_q(ref.project or '')}/collections/{_q(ref.name)}"


def version_ref(version: VersionPublic) -> CollectionRef:
    return CollectionRef(
        name=version.collection, project=version.project, registry=version.registry
    )


def version_url(version: VersionPublic, selector: str | None = None) -> str:
    return f"{collection_url(version_ref(version))}/versions/{_q(selector or version.version)}"


def selector_url(ref: CollectionRef, selector: str) -> str:
    return f"{collection_url(ref)}/versions/{_q(selector)}"


def path_url(qualified_name: str) -> str:
    """`p/c:v3` or `@r/c:v3` (a lineage node's or a link source's name) -> its page."""
    owner, _, rest = qualified_name.partition("/")
    name, _, selector = rest.partition(":")
    if owner.startswith("@"):
        ref = CollectionRef(name=name, registry=owner[1:])
    else:
        ref = CollectionRef(name=name, project=owner)
    return selector_url(ref, selector or "latest")


def run_url(project: str, run_id: str) -> str:
    return f"/projects/{_q(project)}/runs/{_q(run_id)}"


def run_ref_url(ref: RunRef) -> str:
    return run_url(ref.project, ref.id)


def node_url(node: LineageNode) -> str:
    """A lineage node's page: `version:p/c:v3` or `run:p/<run id>`."""
    kind, _, name = node.id.partition(":")
    if kind == "run":
        project, _, run_id = name.partition("/")
        return run_url(project, run_id)
    return path_url(name)


def with_query(path: str, **params: str | int | None) -> str:
    kept = {key: value for key, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


def automation_url(name: str) -> str:
    return f"/automations/{_q(name)}"
