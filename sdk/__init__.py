"""Strata client library: `import sdk`.

with sdk.init(project="p") as run:
    art = sdk.Artifact("mnist", type="dataset")
    art.add_dir("data/")
    run.log_artifact(art, aliases=["best"])
sdk.Api().artifact("p/mnist:best").download()
"""

from sdk import errors
from sdk.api import Api
from sdk.artifact import Artifact, ArtifactEntry
from sdk.collection import ArtifactCollection
from sdk.lineage import Lineage
from sdk.registry import Registry
from sdk.results import Results
from sdk.run import Run, init
from sdk.run_info import RunInfo

__all__ = [
    "Api",
    "Artifact",
    "ArtifactCollection",
    "ArtifactEntry",
    "Lineage",
    "Registry",
    "Results",
    "Run",
    "RunInfo",
    "errors",
    "init",
]
