"""How much one request may ask of the service (`STRATA_MAX_*` settings).

Every refusal names the setting that set the limit, so an operator who meets one
knows what to raise. Sizes beyond a limit of the request's body (the body itself, a
manifest) are 413; limits on what a body says (a filter, metadata) are 422, as any
other invalid input.
"""

import json
from dataclasses import dataclass
from typing import Any

from registry.errors import InvalidInput

# The specification fixes this one (SPEC §2): it is not a setting.
MAX_METADATA_KEYS = 100


@dataclass(frozen=True)
class Limits:
    request_bytes: int
    batch_bytes: int
    blob_bytes: int
    manifest_bytes: int
    manifest_entries: int
    filter_bytes: int
    filter_depth: int
    filter_conditions: int
    metadata_value_bytes: int


def json_size(value: Any) -> int:
    """Bytes of `value` as compact UTF-8 JSON (what it costs to store and send)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def check_metadata(metadata: object, limits: Limits) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise InvalidInput("metadata must be a JSON object")
    if len(metadata) > MAX_METADATA_KEYS:
        raise InvalidInput(
            f"metadata has {len(metadata)} top-level keys; at most {MAX_METADATA_KEYS} are allowed"
        )
    for key, value in metadata.items():
        size = json_size(value)
        if size > limits.metadata_value_bytes:
            raise InvalidInput(
                f"metadata value {key[:100]!r} is {size} bytes as JSON; at most "
                f"{limits.metadata_value_bytes} (STRATA_MAX_METADATA_VALUE_BYTES)"
            )
    return metadata
