"""Full artifact paths sent to the service, parsed by the SDK's own parser so both
sides agree on one grammar."""

from registry.errors import InvalidInput
from registry.services.collections import CollectionRef
from sdk.errors import ValidationError
from sdk.paths import parse_artifact_path


def parse_path(path: str) -> tuple[CollectionRef, str]:
    try:
        parsed = parse_artifact_path(path, default_project=None)
    except ValidationError as exc:
        raise InvalidInput(str(exc)) from None
    ref = CollectionRef(name=parsed.collection, project=parsed.project, registry=parsed.registry)
    return ref, parsed.selector
