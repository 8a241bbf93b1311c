"""The registry benchmark's catalog: one seeded description, loaded into Strata and MLflow.

`Catalog` describes N collections x M versions (metadata, tags, aliases) once, from a
seed; both tools are built from the same description so the queries, the rows they
should return and the alias targets are the same on both sides.

- Strata (`build_strata`): in-process, with the service's own functions
  (`artifact_versions.commit_version`, `registries.create_registry`,
  `links.link_version`) against a fresh STRATA_HOME, many versions per transaction.
  This is the code path the REST handlers run, minus HTTP, so the rows are exactly those a
  client would have produced.
- MLflow (`build_mlflow`): MLflow creates its schema (`mlflow db upgrade`); the rows are then
  inserted straight into its SQLite tables with the values its SqlAlchemyStore writes
  (compared by hand with a version created through MLflow 3.17's API; the insert refuses a
  schema that lacks these columns). At ~19 ms per
  `create_model_version` plus ~134 ms per tag or alias, 100,000 versions through its API
  would take hours.

Mapping (MLflow has no version metadata and no label tags):
    Strata collection bench/model-0042  -> MLflow registered model model-0042
    Strata v<i>                          -> MLflow version i+1
    metadata {"acc", "epoch", "arch"}    -> version tags acc ("%.4f"), epoch, arch
    tag "vision"                         -> version tag vision = "true"
    alias production / staging           -> registered model alias production / staging,
                                            and (only for the filtered query, which cannot
                                            name aliases) a version tag alias = production
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TAG_POOL = (
    "vision",
    "nlp",
    "audio",
    "baseline",
    "candidate",
    "fp16",
    "int8",
    "distilled",
    "pruned",
    "audited",
)
ARCHS = ("resnet50", "vit-b16", "convnext-t", "efficientnet-b0", "mobilenet-v3")
TAGS_PER_VERSION = 3
# acc is uniform in [0.5, 1.0) with 4 decimals, so "acc > 0.9" is what MLflow can express
# as the string pattern tags.acc LIKE '0.9%' (0.9000 itself is never generated).
ACC_THRESHOLD = 0.9
ACC_LIKE = "0.9%"
PROJECT = "bench"
REGISTRY = "models"
TYPE = "model"
ALIASES = ("production", "staging")
# Versions of each project collection linked into its registry portfolio at build time:
# the production one (portfolio v0, alias production), the staging one (v1, staging) and
# one more (v2), the target of the alias-move samples.
LINKED_PER_PORTFOLIO = 3
# Collections committed per transaction when building Strata (2,000 versions at 100 each).
BATCH_COLLECTIONS = 20


@dataclass(frozen=True)
class Version:
    index: int  # Strata v<index>; MLflow version index + 1
    acc: float
    epoch: int
    arch: str
    tags: tuple[str, ...]

    @property
    def metadata(self) -> dict:
        return {"acc": self.acc, "epoch": self.epoch, "arch": self.arch}

    def mlflow_tags(self, alias: str | None) -> dict[str, str]:
        tags = {"acc": f"{self.acc:.4f}", "epoch": str(self.epoch), "arch": self.arch}
        tags.update((t, "true") for t in self.tags)
        if alias:
            tags["alias"] = alias
        return tags


@dataclass(frozen=True)
class Collection:
    name: str
    versions: tuple[Version, ...]
    production: int  # version index carrying the alias
    staging: int
    spare: int  # a third linked version: where alias moves go

    def alias_of(self, index: int) -> str | None:
        return {self.production: "production", self.staging: "staging"}.get(index)

    @property
    def linked(self) -> tuple[int, ...]:
        """Project version indexes linked into the portfolio, in portfolio order v0, v1, v2."""
        return (self.production, self.staging, self.spare)


class Catalog:
    """`collections` x `versions` model versions, generated from `seed`."""

    def __init__(self, collections: int, versions: int, seed: int = 1) -> None:
        if versions < LINKED_PER_PORTFOLIO + 1:
            raise ValueError(f"need at least {LINKED_PER_PORTFOLIO + 1} versions per collection")
        self.n_collections, self.n_versions, self.seed = collections, versions, seed
        self.collections = [self._collection(c) for c in range(collections)]

    @property
    def total_versions(self) -> int:
        return self.n_collections * self.n_versions

    def _collection(self, c: int) -> Collection:
        rng = random.Random(f"{self.seed}/{c}")
        versions = []
        for i in range(self.n_versions):
            acc = round(rng.uniform(0.5, 1.0), 4)
            if acc in (ACC_THRESHOLD, 1.0):  # keep "> 0.9" and LIKE '0.9%' identical
                acc = 0.9001
            versions.append(
                Version(
                    index=i,
                    acc=acc,
                    epoch=rng.randint(1, 100),
                    arch=rng.choice(ARCHS),
                    tags=tuple(sorted(rng.sample(TAG_POOL, TAGS_PER_VERSION))),
                )
            )
        production, staging, spare = rng.sample(range(self.n_versions), 3)
        return Collection(f"model-{c:04d}", tuple(versions), production, staging, spare)

    def expected_query_rows(self, tag: str, alias: str = "production") -> int:
        """Rows of: metadata.acc > ACC_THRESHOLD and tag and alias (project versions)."""
        n = 0
        for coll in self.collections:
            v = coll.versions[coll.production if alias == "production" else coll.staging]
            n += v.acc > ACC_THRESHOLD and tag in v.tags
        return n

    def unlinked_version(self, coll: Collection, k: int) -> int:
        """The k-th version index of `coll` that is not linked at build time."""
        free = [i for i in range(self.n_versions) if i not in coll.linked]
        return free[k % len(free)]


def _log(msg: str) -> None:
    print(f"[registry-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------- MLflow


MLFLOW_WORKSPACE = "default"
MLFLOW_TABLE_COLUMNS = {
    "registered_models": {"name", "creation_time", "last_updated_time", "description"},
    "model_versions": {
        "name",
        "version",
        "creation_time",
        "last_updated_time",
        "current_stage",
        "source",
        "status",
        "storage_location",
    },
    "model_version_tags": {"key", "value", "name", "version"},
    "registered_model_aliases": {"alias", "version", "name"},
}


def mlflow_source(model: str, version: int) -> str:
    return f"s3://bench-models/{model}/{version}"


def build_mlflow(catalog: Catalog, db: Path) -> dict:
    """Insert the catalog into an MLflow SQLite DB whose schema `mlflow db upgrade` made.

    Values follow what MLflow 3.17's SqlAlchemyStore writes for create_registered_model /
    create_model_version / set_registered_model_alias (status READY, current_stage 'None',
    storage_location = source, NULL description/user/run, workspace 'default').
    Returns row counts.
    """
    con = sqlite3.connect(db)
    try:
        _check_mlflow_schema(con)
        now = int(time.time() * 1000)
        counts = {"registered_models": 0, "model_versions": 0, "model_version_tags": 0}
        with con:
            con.executemany(
                "INSERT INTO registered_models (name, creation_time, last_updated_time,"
                " description, workspace) VALUES (?, ?, ?, NULL, ?)",
                [(c.name, now, now, MLFLOW_WORKSPACE) for c in catalog.collections],
            )
            counts["registered_models"] = len(catalog.collections)
            for coll in catalog.collections:
                versions, tags = [], []
                for v in coll.versions:
                    number, t = v.index + 1, now + v.index
                    source = mlflow_source(coll.name, number)
                    versions.append(
                        (coll.name, number, t, t, "None", source, "READY", source, MLFLOW_WORKSPACE)
                    )
                    tags += [
                        (k, val, coll.name, number, MLFLOW_WORKSPACE)
                        for k, val in v.mlflow_tags(coll.alias_of(v.index)).items()
                    ]
                con.executemany(
                    "INSERT INTO model_versions (name, version, creation_time, last_updated_time,"
                    " description, user_id, current_stage, source, run_id, status,"
                    " status_message, run_link, storage_location, workspace)"
                    " VALUES (?, ?, ?, ?, NULL, NULL, ?, ?, NULL, ?, NULL, NULL, ?, ?)",
                    versions,
                )
                con.executemany(
                    "INSERT INTO model_version_tags (key, value, name, version, workspace)"
                    " VALUES (?, ?, ?, ?, ?)",
                    tags,
                )
                con.executemany(
                    "INSERT INTO registered_model_aliases (alias, version, name, workspace)"
                    " VALUES (?, ?, ?, ?)",
                    [
                        ("production", coll.production + 1, coll.name, MLFLOW_WORKSPACE),
                        ("staging", coll.staging + 1, coll.name, MLFLOW_WORKSPACE),
                    ],
                )
                counts["model_versions"] += len(versions)
                counts["model_version_tags"] += len(tags)
        counts["registered_model_aliases"] = 2 * len(catalog.collections)
        return counts
    finally:
        con.close()


def _check_mlflow_schema(con: sqlite3.Connection) -> None:
    """Fail loudly if this MLflow's tables differ from the ones the insert was written for."""
    for table, wanted in MLFLOW_TABLE_COLUMNS.items():
        have = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
        missing = (wanted | {"workspace"}) - have
        if missing:
            raise RuntimeError(f"MLflow table {table} lacks columns {sorted(missing)}")
    n = con.execute("SELECT count(*) FROM model_versions").fetchone()[0]
    if n:
        raise RuntimeError(f"MLflow DB already holds {n} model versions; use a fresh one")


# --------------------------------------------------------------------------------- Strata


def _reference_manifest(coll: Collection, v: Version):
    """A one-file manifest: a reference to the weights (tracked, not copied), unique per
    version so every commit creates a version (equal content would be deduplicated)."""
    from sdk.digest import hash_bytes
    from sdk.manifest import Entry, Manifest

    ref = f"s3://bench-models/{coll.name}/v{v.index}/model.pt"
    entry = Entry(digest=hash_bytes(ref.encode()), size=100_000_000 + v.index, ref=ref)
    return Manifest({"model.pt": entry})


def build_strata(
    catalog: Catalog, home: Path, batch_collections: int = BATCH_COLLECTIONS, link: bool = True
) -> dict:
    """Build the catalog into a fresh STRATA_HOME with the service's own functions.

    Project `bench`: one collection per catalog collection, every version committed with
    `commit_version` (metadata, tags, production/staging aliases; `latest` follows as it
    would). Registry `models`: one portfolio per collection with LINKED_PER_PORTFOLIO
    versions linked by `link_version` (portfolio aliases production -> v0, staging -> v1).
    `batch_collections` collections per transaction.
    """
    from registry.db import make_engine, session_scope
    from registry.migrate import upgrade
    from registry.services.artifact_versions import NewVersion, commit_version
    from registry.services.blobs import collection_epoch, record_blobs
    from registry.settings import Settings
    from registry.storage.blob_store import BlobStore
    from sdk.digest import hash_bytes

    settings = Settings(home=home)
    upgrade(settings)
    engine = make_engine(settings.resolved_database_url)
    store = BlobStore.from_url(settings.resolved_storage_url)
    t0 = time.perf_counter()
    try:
        for batch in _chunks(catalog.collections, batch_collections):
            # Manifest blobs are written (verified, as on upload) before the transaction
            # that records and commits them, as the upload endpoints do.
            manifests = []
            for coll in batch:
                for v in coll.versions:
                    data = _reference_manifest(coll, v).to_bytes()
                    digest = hash_bytes(data)
                    store.put(digest, data)
                    manifests.append((coll, v, digest, len(data)))
            with session_scope(engine) as session:
                blobs = [(d, n) for _, _, d, n in manifests]
                record_blobs(session, store, blobs, collection_epoch(session))
                for coll, v, digest, _ in manifests:
                    commit_version(
                        session,
                        store,
                        NewVersion(
                            project=PROJECT,
                            collection=coll.name,
                            type=TYPE,
                            manifest_digest=digest,
                            metadata=v.metadata,
                            aliases=[a for a in [coll.alias_of(v.index)] if a],
                            tags=list(v.tags),
                        ),
                        settings.limits,
                    )
            done = batch[-1].name
            _log(f"strata: committed through {done} ({time.perf_counter() - t0:.0f} s)")
        versions_s = time.perf_counter() - t0
        links_s = 0.0
        if link:
            t1 = time.perf_counter()
            _link_portfolios(engine, catalog, batch_collections * 5)
            links_s = time.perf_counter() - t1
    finally:
        engine.dispose()
    return {"versions_s": round(versions_s, 1), "links_s": round(links_s, 1)}


def _link_portfolios(engine, catalog: Catalog, batch_collections: int) -> None:
    """Registry `models` and, per collection, a portfolio with its linked versions, the way
    `POST /registries` and `POST .../links` do it (resolve the project version, link it)."""
    from registry.db import session_scope
    from registry.services.collections import CollectionRef
    from registry.services.links import link_version
    from registry.services.registries import create_registry
    from registry.services.versions import resolve_version

    with session_scope(engine) as session:
        create_registry(
            session,
            REGISTRY,
            description="registry benchmark",
            allowed_types=[TYPE],
            visibility="organization",
            protected_aliases=[],
        )
    for batch in _chunks(catalog.collections, batch_collections):
        with session_scope(engine) as session:
            for coll in batch:
                source_ref = CollectionRef(name=coll.name, project=PROJECT)
                for k, index in enumerate(coll.linked):
                    source_collection, source = resolve_version(session, source_ref, f"v{index}")
                    aliases = [ALIASES[k]] if k < len(ALIASES) else []
                    link_version(session, REGISTRY, coll.name, source_collection, source, aliases)


def _chunks(items: list, n: int) -> Iterator[list]:
    for start in range(0, len(items), n):
        yield items[start : start + n]
