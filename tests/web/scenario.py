"""A small, realistic registry built through the SDK, for the browser tests: a dataset
made by a prepare run, a model trained on it with metric history, a registry with a
protected alias, and a webhook automation watching alias moves in that registry."""

import math
import uuid
from dataclasses import dataclass

import sdk
from automations import ArtifactEvent, OnAddArtifactAlias, SendWebhook


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Scenario:
    project: str
    registry: str
    automation: str
    integration: str
    secret: str
    access_token: str
    prepare_run: str
    train_run: str


def build(receiver_url: str, *, secret: str, access_token: str, files: int = 150) -> Scenario:
    api = sdk.Api()
    project, registry = unique("vision"), unique("models")
    automation, integration = unique("deploy-on-production"), unique("deployer")
    api.create_registry(
        registry,
        description="Models promoted for serving",
        allowed_types=["model"],
        protected_aliases=["production"],
    )
    with sdk.init(project=project, name="prepare-mnist", job_type="prepare") as prepare:
        data = sdk.Artifact("mnist", type="dataset", metadata={"rows": 60000, "source": "yann"})
        for i in range(files):  # more files than one page shows
            with data.new_file(f"shards/part-{i:04d}.csv") as handle:
                handle.write(f"x,y\n{i},{i * i}\n" * (i + 1))
        prepare.log_artifact(data, aliases=["best"], tags=["baseline"])
    with sdk.init(
        project=project, name="train-resnet", job_type="train", config={"lr": 0.1, "epochs": 3}
    ) as train:
        train.use_artifact(f"{project}/mnist:best")
        for step in range(300):
            train.log(
                {
                    "loss": 2.0 * math.exp(-step / 60) + 0.02 * math.sin(step),
                    "acc": 1 - math.exp(-step / 80),
                },
                step=step,
            )
        for n in range(3):
            model = sdk.Artifact("resnet", type="model", metadata={"acc": 0.8 + n / 20})
            with model.new_file("model.pt") as handle:
                handle.write(f"weights {n}")
            train.log_artifact(model, tags=["vision"])
            train.link_artifact(model, f"@{registry}/resnet", aliases=["staging"] if n == 0 else [])
    hook = api.create_webhook_integration(
        integration, url=receiver_url, secret=secret, access_token=access_token
    )
    api.create_automation(
        OnAddArtifactAlias(
            scope=api.registry(registry), filter=ArtifactEvent.alias.eq("production")
        )
        >> SendWebhook.from_integration(hook, payload={"version": "${artifact_version_string}"}),
        name=automation,
    )
    return Scenario(
        project=project,
        registry=registry,
        automation=automation,
        integration=integration,
        secret=secret,
        access_token=access_token,
        prepare_run=prepare.id,
        train_run=train.id,
    )
