"""The automation contract shared by the SDK and the service.

    OnAddArtifactAlias(scope=..., filter=ArtifactEvent.alias.eq("production"))
        >> SendWebhook.from_integration(hook, payload={...})      # -> NewAutomation

These pydantic models are the wire format: the SDK sends a `NewAutomation` as JSON and
the service validates the same classes, so both sides agree on every name.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from automations.filters import AliasFilter, MetricChange, MetricThreshold
from automations.templates import check_template

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"
Severity = Literal["info", "warning", "error"]


class Scope(BaseModel):
    """Where an automation listens: a project, a registry, or one collection of either."""

    model_config = ConfigDict(frozen=True)

    type: Literal["project", "registry", "collection"]
    name: str = Field(min_length=1, max_length=128)
    # For a collection scope: the project or the registry that owns it.
    project: str | None = None
    registry: str | None = None

    @model_validator(mode="after")
    def _check_owner(self) -> "Scope":
        owners = (self.project is not None) + (self.registry is not None)
        if self.type == "collection" and owners != 1:
            raise ValueError("a collection scope names its project or its registry")
        if self.type != "collection" and owners:
            raise ValueError(f"a {self.type} scope has only a name")
        return self

    def label(self) -> str:
        if self.type == "collection":
            owner = f"@{self.registry}" if self.registry else self.project
            return f"collection {owner}/{self.name}"
        return f"{self.type} {self.name}"


def _as_scope(value: Any) -> Any:
    """SDK objects (`api.project()`, `api.registry()`, `api.artifact_collection()`) say
    which scope they are through `to_scope()`."""
    to_scope = getattr(value, "to_scope", None)
    return to_scope() if callable(to_scope) else value


class _Trigger(BaseModel):
    model_config = ConfigDict(frozen=True)

    scope: Scope

    @field_validator("scope", mode="before")
    @classmethod
    def _scope_of(cls, value: Any) -> Any:
        return _as_scope(value)

    def __rshift__(self, action: "Action") -> "NewAutomation":
        return NewAutomation(event=self, action=action)  # type: ignore[arg-type]


class OnCreateArtifact(_Trigger):
    """A new version is committed in the scope."""

    event: Literal["artifact.created"] = "artifact.created"
    filter: None = None


class OnLinkArtifact(_Trigger):
    """A version is linked into a registry collection in the scope; the filter, if any,
    must match one of the aliases the link was given."""

    event: Literal["artifact.linked"] = "artifact.linked"
    filter: AliasFilter | None = None


class OnAddArtifactAlias(_Trigger):
    """An alias is added to a version, or moved to it from another one."""

    event: Literal["alias.added"] = "alias.added"
    filter: AliasFilter | None = None


class OnRunMetric(_Trigger):
    """A run's metric condition becomes true (fires again only after it was false)."""

    event: Literal["run.metric.threshold", "run.metric.change"] = "run.metric.threshold"
    filter: Annotated[MetricThreshold | MetricChange, Field(discriminator="kind")]

    @model_validator(mode="before")
    @classmethod
    def _event_from_filter(cls, data: Any) -> Any:
        if isinstance(data, dict) and "event" not in data:
            given = data.get("filter")
            kind = given.get("kind") if isinstance(given, dict) else getattr(given, "kind", None)
            if kind == "metric_change":
                data = {**data, "event": "run.metric.change"}
        return data

    @model_validator(mode="after")
    def _check(self) -> "OnRunMetric":
        change = self.filter.kind == "metric_change"
        wanted = "run.metric.change" if change else "run.metric.threshold"
        if self.event != wanted:
            raise ValueError(f"a {self.filter.kind} filter fires {wanted} events")
        if self.scope.type != "project":
            raise ValueError("run metric automations are scoped to a project")
        return self


Trigger = Annotated[
    OnCreateArtifact | OnLinkArtifact | OnAddArtifactAlias | OnRunMetric,
    Field(discriminator="event"),
]


def _integration_name(value: Any) -> Any:
    return getattr(value, "name", value)


class SendWebhook(BaseModel):
    """POST a JSON payload (a template; default: every variable of the event) to a
    webhook integration, signed per Standard Webhooks when it has a secret."""

    model_config = ConfigDict(frozen=True)

    action: Literal["webhook"] = "webhook"
    integration: str
    payload: dict[str, Any] | None = None

    @field_validator("integration", mode="before")
    @classmethod
    def _integration_of(cls, value: Any) -> Any:
        return _integration_name(value)

    @classmethod
    def from_integration(
        cls, integration: Any, payload: dict[str, Any] | None = None
    ) -> "SendWebhook":
        return cls(integration=integration, payload=payload)


class SendNotification(BaseModel):
    """Post a message to a Slack integration (incoming webhook)."""

    model_config = ConfigDict(frozen=True)

    action: Literal["notification"] = "notification"
    integration: str
    title: str = Field(default="", max_length=1000)
    text: str = Field(default="", max_length=20_000)
    severity: Severity = "info"

    @field_validator("integration", mode="before")
    @classmethod
    def _integration_of(cls, value: Any) -> Any:
        return _integration_name(value)

    @classmethod
    def from_integration(
        cls,
        integration: Any,
        *,
        title: str = "",
        text: str = "",
        severity: Severity = "info",
    ) -> "SendNotification":
        return cls(integration=integration, title=title, text=text, severity=severity)


class DoNothing(BaseModel):
    """Record the firing (a delivery with no request), e.g. to watch a trigger first."""

    model_config = ConfigDict(frozen=True)

    action: Literal["no_op"] = "no_op"


Action = Annotated[SendWebhook | SendNotification | DoNothing, Field(discriminator="action")]


class NewAutomation(BaseModel):
    """`event >> action`, plus the name and description given when it is created."""

    event: Trigger
    action: Action
    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    description: str = Field(default="", max_length=10_000)
    enabled: bool = Field(default=True, strict=True)  # a JSON 0 is no boolean

    @model_validator(mode="after")
    def _check_templates(self) -> "NewAutomation":
        check_action_templates(self.action, self.event.event)
        return self


def check_action_templates(action: Any, event_type: str) -> None:
    if isinstance(action, SendWebhook) and action.payload is not None:
        check_template(action.payload, event_type)
    elif isinstance(action, SendNotification):
        check_template([action.title, action.text], event_type)


class AutomationUpdate(BaseModel):
    """Fields of an automation to change; the new event/action must fit together."""

    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=10_000)
    enabled: bool | None = Field(default=None, strict=True)
    event: Trigger | None = None
    action: Action | None = None


class Automation(NewAutomation):
    """A saved automation, as the service returns it."""

    id: int
    name: str
    created_at: datetime
    updated_at: datetime


class WebhookIntegrationCreate(BaseModel):
    kind: Literal["webhook"] = "webhook"
    name: str = Field(pattern=NAME_PATTERN)
    url: str = Field(max_length=2048)
    # Standard Webhooks signing secret, `whsec_` + base64 of 24 to 64 random bytes.
    secret: str | None = Field(default=None, max_length=512)
    access_token: str | None = Field(default=None, max_length=4096)


class SlackIntegrationCreate(BaseModel):
    kind: Literal["slack"] = "slack"
    name: str = Field(pattern=NAME_PATTERN)
    # The incoming-webhook URL carries Slack's token: it is stored as a secret.
    webhook_url: str = Field(max_length=2048)
    channel: str | None = Field(default=None, max_length=128)


IntegrationCreate = Annotated[
    WebhookIntegrationCreate | SlackIntegrationCreate, Field(discriminator="kind")
]


class Integration(BaseModel):
    """An integration as the service returns it: secrets are never part of it."""

    id: int
    kind: Literal["webhook", "slack"]
    name: str
    # Webhook: the target URL. Slack: only the host of the (secret) webhook URL.
    url: str
    channel: str | None = None
    has_secret: bool = False
    has_access_token: bool = False
    created_at: datetime


DeliveryStatus = Literal["pending", "delivering", "delivered", "failed", "dead"]


class DeliveryAttempt(BaseModel):
    number: int
    started_at: datetime
    latency_ms: float | None
    status_code: int | None
    response: str
    error: str


class Delivery(BaseModel):
    """One firing of one automation: its request and every attempt to send it."""

    id: str  # the stable `webhook-id`, the same on every retry and redelivery
    automation: str
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    payload: Any
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[DeliveryAttempt] = Field(default_factory=list)
