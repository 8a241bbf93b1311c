"""Payload templates: `${variable}` placeholders filled from an event.

A template is checked when its automation is saved: a placeholder that the event type
does not provide is an error then, never a surprise at delivery. A string that is
exactly one placeholder takes the variable's own JSON type (a metric value stays a
number); a placeholder inside longer text is formatted into it. `$${` writes a
literal `${`.
"""

import json
import re
from typing import Any

ARTIFACT_EVENTS = ("artifact.created", "artifact.linked", "alias.added")
METRIC_EVENTS = ("run.metric.threshold", "run.metric.change")
EVENT_TYPES = (*ARTIFACT_EVENTS, *METRIC_EVENTS)

_COMMON = {"event_type", "event_author", "project_name"}
_ARTIFACT = {
    "artifact_collection_name",
    "artifact_type",
    "artifact_version",
    "artifact_version_string",
    "artifact_digest",
    "registry_name",
    "run_id",
    "run_name",
}
_METRIC = {"run_id", "run_name", "metric_name", "metric_value", "metric_step"}

VARIABLES: dict[str, frozenset[str]] = {
    "artifact.created": frozenset(_COMMON | _ARTIFACT | {"aliases"}),
    "artifact.linked": frozenset(_COMMON | _ARTIFACT | {"aliases", "source_version_string"}),
    "alias.added": frozenset(_COMMON | _ARTIFACT | {"alias", "previous_version"}),
    "run.metric.threshold": frozenset(_COMMON | _METRIC),
    "run.metric.change": frozenset(_COMMON | _METRIC | {"metric_previous_value"}),
}
METADATA_PREFIX = "artifact_metadata."

_PLACEHOLDER = re.compile(r"\$(\$?)\{([^{}]*)\}")
_METADATA_KEY = re.compile(r"[^{}\s]{1,256}")
MAX_TEMPLATE_BYTES = 64 * 1024


class TemplateError(ValueError):
    """A template names a variable its event does not provide, or is malformed."""


def check_template(template: Any, event_type: str) -> None:
    """Raise TemplateError naming every placeholder `event_type` cannot fill."""
    if len(json.dumps(template)) > MAX_TEMPLATE_BYTES:
        raise TemplateError(f"a template is limited to {MAX_TEMPLATE_BYTES} bytes of JSON")
    known = VARIABLES[event_type]
    unknown = sorted(
        name for name in _placeholders(template) if not _provides(known, event_type, name)
    )
    if unknown:
        names = ", ".join("${" + name + "}" for name in unknown)
        raise TemplateError(
            f"unknown template variable(s) {names} for {event_type} events; "
            f"known: {', '.join(sorted(known | _metadata_hint(event_type)))}"
        )


def render(template: Any, variables: dict[str, Any]) -> Any:
    """Fill every placeholder of a (checked) template: strings, lists and objects."""
    if isinstance(template, str):
        return _render_string(template, variables)
    if isinstance(template, list):
        return [render(item, variables) for item in template]
    if isinstance(template, dict):
        return {key: render(value, variables) for key, value in template.items()}
    return template


def _render_string(text: str, variables: dict[str, Any]) -> Any:
    whole = _PLACEHOLDER.fullmatch(text)
    if whole and not whole.group(1):
        return _lookup(variables, whole.group(2))

    def replace(match: re.Match[str]) -> str:
        if match.group(1):  # `$${...}` is the escape for a literal `${...}`
            return "${" + match.group(2) + "}"
        value = _lookup(variables, match.group(2))
        if value is None:
            return ""
        return value if isinstance(value, str) else json.dumps(value)

    return _PLACEHOLDER.sub(replace, text)


def _lookup(variables: dict[str, Any], name: str) -> Any:
    if name.startswith(METADATA_PREFIX):
        return (variables.get("artifact_metadata") or {}).get(name[len(METADATA_PREFIX) :])
    return variables.get(name)


def _placeholders(template: Any) -> list[str]:
    if isinstance(template, str):
        return [m.group(2) for m in _PLACEHOLDER.finditer(template) if not m.group(1)]
    if isinstance(template, list):
        return [name for item in template for name in _placeholders(item)]
    if isinstance(template, dict):
        return [name for value in template.values() for name in _placeholders(value)]
    return []


def _provides(known: frozenset[str], event_type: str, name: str) -> bool:
    if name.startswith(METADATA_PREFIX):
        key = name[len(METADATA_PREFIX) :]
        return event_type in ARTIFACT_EVENTS and bool(_METADATA_KEY.fullmatch(key))
    return name in known


def _metadata_hint(event_type: str) -> set[str]:
    return {METADATA_PREFIX + "KEY"} if event_type in ARTIFACT_EVENTS else set()
