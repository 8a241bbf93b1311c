"""Strata client library: `import sdk`.

with sdk.init(project="p") as run:
    art = sdk.Artifact("mnist", type="dataset")
    art.add_dir("data/")
    run.log_artifact(art, aliases=["best"])
sdk.Api().artifact("p/mnist:best").download()
"""

from sdk import errors, serializers
from sdk.api import Api, compare_runs
from sdk.artifact import Artifact, ArtifactEntry
from sdk.collection import ArtifactCollection
from sdk.lineage import Lineage
from sdk.registry import Registry
from sdk.results import Results
from sdk.run import OtherRankRun, Run, init
from sdk.run_info import RunInfo

__all__ = [
    "Api",
    "Artifact",
    "ArtifactCollection",
    "ArtifactEntry",
    "Lineage",
    "OtherRankRun",
    "Registry",
    "Results",
    "Run",
    "RunInfo",
    "compare_runs",
    "errors",
    "init",
    "serializers",
]
