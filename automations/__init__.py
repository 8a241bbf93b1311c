"""Automations: `event >> action`, evaluated by the service when something happens.

    from automations import OnAddArtifactAlias, ArtifactEvent, SendWebhook
    api.create_automation(
        OnAddArtifactAlias(scope=api.registry("models"),
                           filter=ArtifactEvent.alias.eq("production"))
        >> SendWebhook.from_integration(hook, payload={"model": "${artifact_collection_name}"}),
        name="deploy-on-production")

The flow of an event: `bus.publish` (outbox rows in the change's transaction) ->
`worker` claims due deliveries -> `actions/*` `act()` -> `delivery` records the attempt.
"""

from automations.filters import ArtifactEvent, MetricChange, MetricThreshold, RunEvent
from automations.schema import (
    Automation,
    Delivery,
    DeliveryAttempt,
    DoNothing,
    Integration,
    NewAutomation,
    OnAddArtifactAlias,
    OnCreateArtifact,
    OnLinkArtifact,
    OnRunMetric,
    Scope,
    SendNotification,
    SendWebhook,
)

__all__ = [
    "ArtifactEvent",
    "Automation",
    "Delivery",
    "DeliveryAttempt",
    "DoNothing",
    "Integration",
    "MetricChange",
    "MetricThreshold",
    "NewAutomation",
    "OnAddArtifactAlias",
    "OnCreateArtifact",
    "OnLinkArtifact",
    "OnRunMetric",
    "RunEvent",
    "Scope",
    "SendNotification",
    "SendWebhook",
]
