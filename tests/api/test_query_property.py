"""`POST /query/{target}` agrees with a plain-Python evaluator of the same filter.

Hypothesis draws a small catalog (collections, versions with nested JSON metadata, tags and
aliases; or runs with config, summary, tags and state; or registries), builds it through
the REST API in a project of its own, then draws many filters, sorts and page sizes against
it and compares the service's answer, page after page, with `tests/api/query_oracle.py`,
which implements the contract (the docstring of `registry/query`) independently of the
server. Hand-written cases pin the oracle itself down, and bad filters must get a 422.
"""

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api import query_oracle as oracle
from tests.api.helpers import collection_url, commit
from tests.conftest import Server

# Queries drawn against each catalog; the catalogs are the expensive part.
QUERIES_PER_CATALOG = 40
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Small pools, so that drawn operands often hit drawn data. Mixed case and non-ASCII
# characters exercise code-point ordering and case-insensitive regexes.
TEXT_ALPHABET = "abAB1 -é😀"
COLLECTION_NAMES = ["ds", "DS", "m1", "m-2", "a.b", "z_z"]
TYPES = ["dataset", "model", "Model", "code"]
TAGS = ["vision", "Vision", "nlp", "b2", "x-y", "a.b"]
ALIASES = ["best", "Best", "prod", "staging", "candidate"]
KEYS = ["a", "b", "c", "acc", "A", "x-1", "0"]  # "0": paths never index arrays
JOB_TYPES = ["train", "Train", "eval", ""]
RUN_NAMES = ["", "alpha", "Alpha", "b 2", "é"]
RUN_STATES = ["running", "finished", "failed", "crashed"]
FAR_TIMES = [datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)]

SORTS = {
    "versions": ["id", "created_at", "updated_at", "size", "version"],
    "collections": ["id", "created_at", "updated_at", "name"],
    "runs": ["id", "created_at", "updated_at", "name"],
    "registries": ["id", "created_at", "updated_at", "name"],
}
# Operators each kind of field is drawn with. Time, version and number columns get no
# $regex/$contains, and columns no $exists: the contract gives those no meaning.
SCALAR_OPERATORS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"]
OPERATORS_BY_KIND = {
    "string": [*SCALAR_OPERATORS, "$regex", "$contains"],
    "list": [*SCALAR_OPERATORS, "$regex", "$contains", "$exists"],
    "json": [*SCALAR_OPERATORS, "$regex", "$contains", "$exists"],
    "time": SCALAR_OPERATORS,
    "version": SCALAR_OPERATORS,
    "number": SCALAR_OPERATORS,
}


# ------------------------------------------------------------------------ JSON values


def numbers() -> st.SearchStrategy[int | float]:
    """Integers and floats that survive JSON and SQL number parsing exactly (no -0.0).

    Quarter steps give floats equal to integers (2.0 == 2) and between them.
    """
    return st.one_of(
        st.integers(-3, 3),
        st.integers(-40, 40).map(lambda n: n / 4),
        st.sampled_from([0.1, 1e-3, 3.14159, 1e10, -2.5e6, 12345678901]),
    )


def texts(max_size: int = 4) -> st.SearchStrategy[str]:
    return st.text(TEXT_ALPHABET, max_size=max_size)


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), numbers(), texts())


def json_values() -> st.SearchStrategy[Any]:
    """Nested JSON. Paths do not look into arrays (see the oracle), so objects in arrays
    must not be found by paths, and their array never $contains a scalar operand."""
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
        ),
        max_leaves=6,
    )


def json_objects() -> st.SearchStrategy[dict[str, Any]]:
    """Like real metadata: the same keys with mostly the same kinds across items, so one
    filter sets items apart; now and then another kind, an array or an object."""
    return st.fixed_dictionaries(
        {},
        optional={
            "acc": weighted((4, numbers()), (1, scalars())),
            "a": weighted((3, texts()), (1, json_values())),
            "b": json_values(),
            "c": st.dictionaries(st.sampled_from(KEYS), json_values(), max_size=3),
        },
    )


# -------------------------------------------------------------------------- catalogs


@dataclass
class CollectionSpec:
    name: str
    type: str
    description: str | None  # None: never PATCHed
    tags: list[str] | None


@dataclass
class VersionSpec:
    collection: str
    padding: int  # makes sizes differ
    description: str
    metadata: dict[str, Any]
    aliases: list[str]
    tags: list[str]


@dataclass
class RunSpec:
    name: str
    job_type: str
    config: dict[str, Any]
    tags: list[str]
    summary: dict[str, Any] | None  # None: never PATCHed
    state: str | None


@dataclass
class RegistrySpec:
    name: str  # after the catalog's unique prefix
    description: str
    visibility: str
    new_description: str | None  # None: never PATCHed


@dataclass
class CatalogSpec:
    collections: list[CollectionSpec] = field(default_factory=list)
    versions: list[VersionSpec] = field(default_factory=list)
    alias_moves: list[tuple[str, str, int]] = field(default_factory=list)
    runs: list[RunSpec] = field(default_factory=list)
    registries: list[RegistrySpec] = field(default_factory=list)


def one_in(draw: st.DrawFn, n: int) -> bool:
    """True about once in `n` draws; false in shrunk examples."""
    return draw(st.integers(1, n)) == n


def tag_lists(pool: Sequence[str] = TAGS) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(pool), max_size=3, unique=True)


@st.composite
def artifact_catalogs(draw: st.DrawFn) -> CatalogSpec:
    """One to three collections, each with at least one version, up to twenty in all."""
    names = sorted(
        draw(st.lists(st.sampled_from(COLLECTION_NAMES), min_size=1, max_size=3, unique=True))
    )
    collections = [
        CollectionSpec(
            name=name,
            type=draw(st.sampled_from(TYPES)),
            description=draw(st.none() | texts()),
            tags=draw(st.none() | tag_lists()),
        )
        for name in names
    ]
    # Every collection's first version comes first, in name order, so that collections
    # are created (and numbered) in name order: sorting them by id is sorting by name.
    owners = names + draw(st.lists(st.sampled_from(names), min_size=5, max_size=20 - len(names)))
    versions = [
        VersionSpec(
            collection=owner,
            padding=draw(st.integers(0, 6)),
            description=draw(texts()),
            metadata=draw(json_objects()),
            aliases=draw(st.lists(st.sampled_from(ALIASES), max_size=2, unique=True)),
            tags=draw(tag_lists()),
        )
        for owner in owners
    ]
    counts = {name: owners.count(name) for name in names}
    moves = draw(
        st.lists(
            st.sampled_from(names).flatmap(
                lambda name: st.tuples(
                    st.just(name), st.sampled_from(ALIASES), st.integers(0, counts[name] - 1)
                )
            ),
            max_size=3,
        )
    )
    return CatalogSpec(collections=collections, versions=versions, alias_moves=moves)


@st.composite
def run_catalogs(draw: st.DrawFn) -> CatalogSpec:
    runs = [
        RunSpec(
            name=draw(st.sampled_from(RUN_NAMES)),
            job_type=draw(st.sampled_from(JOB_TYPES)),
            config=draw(json_objects()),
            tags=draw(tag_lists()),
            summary=draw(st.none() | json_objects()),
            state=draw(st.none() | st.sampled_from(RUN_STATES)),
        )
        for _ in range(draw(st.integers(4, 12)))
    ]
    return CatalogSpec(runs=runs)


@st.composite
def registry_catalogs(draw: st.DrawFn) -> CatalogSpec:
    # Created in name order, so sorting by id is sorting by name.
    names = sorted(draw(st.lists(st.sampled_from(COLLECTION_NAMES), min_size=2, unique=True)))
    registries = [
        RegistrySpec(
            name=name,
            description=draw(texts()),
            visibility=draw(st.sampled_from(["organization", "restricted"])),
            new_description=draw(st.none() | texts()),
        )
        for name in names
    ]
    return CatalogSpec(registries=registries)


@dataclass
class Catalog:
    """What the service holds after the build, as its GET endpoints show it."""

    project: str  # registries, which belong to no project, have it as a name prefix
    items: dict[str, list[dict[str, Any]]]
    _plans: dict[str, st.SearchStrategy["FieldPlan"]] = field(default_factory=dict)

    def plans(self, target: str) -> st.SearchStrategy["FieldPlan"]:
        """The fields of `target` with operands drawn from this catalog (made once)."""
        if target not in self._plans:
            self._plans[target] = field_plans(target, pools_of(target, self.items[target]))
        return self._plans[target]


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


def build(api: httpx.Client, spec: CatalogSpec) -> Catalog:
    project = f"q-{uuid.uuid4().hex[:12]}"
    for number, version in enumerate(spec.versions):
        kind = next(c.type for c in spec.collections if c.name == version.collection)
        content = f"{version.collection} {number} ".encode() + b"x" * version.padding
        commit(
            api,
            project,
            version.collection,
            {"file.txt": content},
            type=kind,
            description=version.description,
            metadata=version.metadata,
            aliases=version.aliases,
            tags=version.tags,
        )
    for name, alias, index in spec.alias_moves:
        ok(
            api.put(
                f"{collection_url(project, name)}/aliases/{alias}", json={"version": f"v{index}"}
            )
        )
    for collection in spec.collections:
        patch = {"description": collection.description, "tags": collection.tags}
        if patch != {"description": None, "tags": None}:
            ok(api.patch(collection_url(project, collection.name), json=patch))
    # Run ids sort in creation order, so sorting by id means the same whichever id is meant.
    for number, run in enumerate(spec.runs):
        run_id = f"r{number:02d}"
        body = {
            "id": run_id,
            "name": run.name,
            "job_type": run.job_type,
            "config": run.config,
            "tags": run.tags,
        }
        ok(api.post(f"/projects/{project}/runs", json=body), 201)
        if run.summary is not None or run.state is not None:
            update = {"summary": run.summary, "state": run.state}
            ok(api.patch(f"/projects/{project}/runs/{run_id}", json=update))

    # Registries are global: this catalog's are told apart by a prefix of their names.
    for registry in spec.registries:
        name = f"{project}-{registry.name}"
        body = {"name": name, "description": registry.description}
        ok(api.post("/registries", json={**body, "visibility": registry.visibility}), 201)
        if registry.new_description is not None:
            ok(api.patch(f"/registries/{name}", json={"description": registry.new_description}))

    items: dict[str, list[dict[str, Any]]] = {
        "versions": [],
        "collections": [],
        "runs": [],
        "registries": [],
    }
    if spec.collections:
        items["collections"] = ok(api.get(f"/projects/{project}/collections"))
        for shown in items["collections"]:
            url = f"{collection_url(project, shown['name'])}/versions"
            items["versions"] += ok(api.get(url, params={"limit": 1000}))
    if spec.runs:
        items["runs"] = ok(api.get(f"/projects/{project}/runs", params={"limit": 1000}))
    if spec.registries:
        everyone = ok(api.get("/registries"))
        items["registries"] = [r for r in everyone if r["name"].startswith(f"{project}-")]
    return Catalog(project=project, items=items)


def identity(target: str, item: dict[str, Any]) -> Any:
    return item["name"] if target in ("collections", "registries") else item["id"]


# --------------------------------------------------------------------------- filters


@dataclass
class Pools:
    """Values the catalog holds, per field, so drawn operands often hit something."""

    strings: dict[str, list[str]]  # string and list fields
    times: dict[str, list[datetime]]
    numbers: dict[str, list[int]]  # version, size
    json: dict[str, list[Any]]  # JSON path present in some item -> scalars there (or in
    # the array there)

    def json_scalars(self) -> list[Any]:
        return unique([value for values in self.json.values() for value in values])


def unique(values: list[Any]) -> list[Any]:
    """Without repeats, telling 1, 1.0 and True apart."""
    return list({json.dumps(v, sort_keys=True): v for v in values}.values())


def _walk(value: Any, path: str, found: dict[str, list[Any]]) -> None:
    for key, inner in value.items():
        here = found.setdefault(f"{path}.{key}", [])
        if isinstance(inner, dict):
            _walk(inner, f"{path}.{key}", found)
        else:
            elements = inner if isinstance(inner, list) else [inner]
            here.extend(e for e in elements if not isinstance(e, list | dict))


def pools_of(target: str, items: list[dict[str, Any]]) -> Pools:
    strings: dict[str, list[str]] = {}
    times: dict[str, list[datetime]] = {}
    numbers: dict[str, list[int]] = {}
    for name, kind in oracle.FIELDS[target].items():
        values = [oracle.field_value(target, item, name) for item in items]
        if kind == "list":
            strings[name] = sorted({element for value in values for element in value})
        elif kind == "string":
            strings[name] = sorted(set(values))
        elif kind == "time":
            times[name] = sorted(values)
        else:
            numbers[name] = sorted(set(values))
    found: dict[str, list[Any]] = {}
    for root in oracle.JSON_ROOTS[target]:
        for item in items:
            _walk(item[root], root, found)
    return Pools(strings, times, numbers, {path: unique(v) for path, v in sorted(found.items())})


def twins(value: Any) -> list[Any]:
    """Values a careless evaluator could take for `value`: another kind (True and 1, 1 and
    "1", None and False), or the same kind nearly (2 and 2.0, "a" and "A")."""
    if value is None:
        return [False, 0, ""]
    if isinstance(value, bool):
        return [int(value), float(value), str(value).lower()]
    if isinstance(value, int):
        return [float(value), str(value), value == 1]
    if isinstance(value, float):
        return [int(value) if value.is_integer() else value, str(value), value == 1]
    return [value.swapcase(), *([float(value)] if value.isdecimal() else [])]


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Like st.one_of, with the branches drawn in proportion to their weights."""
    return st.sampled_from([s for weight, s in choices for _ in range(weight)]).flatmap(
        lambda strategy: strategy
    )


def from_pool(pool: Sequence[Any], fallback: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value the catalog holds (so filters select something), else the fallback."""
    return weighted((3, st.sampled_from(list(pool))), (1, fallback)) if pool else fallback


@st.composite
def substrings(draw: st.DrawFn, pool: Sequence[str]) -> str:
    """A piece of a value the catalog holds (or random text), for $contains and regexes;
    now and then in the other case, which only a case-insensitive regex should match."""
    text = draw(from_pool(pool, texts()))
    start = draw(st.integers(0, len(text)))
    piece = text[start : draw(st.integers(start, len(text)))]
    return piece.swapcase() if one_in(draw, 4) else piece


REGEX_ATOMS = [*"abAé1 -", ".", "[ab]", "[^a]", "[a-zé]", "[A1]"]


@st.composite
def regexes(draw: st.DrawFn, pool: Sequence[str]) -> str:
    """Simple regexes (literals, classes, ., *, +, ?, ^, $), that RE2 and `re` agree on.

    Half are built from a catalog value, so they match now and then.
    """
    if draw(st.booleans()):
        body = draw(substrings(pool)) or "a"
    else:
        atoms = draw(st.lists(st.sampled_from(REGEX_ATOMS), min_size=1, max_size=4))
        body = "".join(atom + draw(st.sampled_from(["", "", "*", "+", "?"])) for atom in atoms)
    return draw(st.sampled_from(["", "^"])) + body + draw(st.sampled_from(["", "$"]))


@st.composite
def iso_times(draw: st.DrawFn, times: Sequence[datetime]) -> str:
    """An ISO 8601 operand: a catalog time, a time between two, or far away; written
    with Z, +00:00, another offset or no zone (UTC)."""
    choice = draw(st.sampled_from(["exact", "between", "far"])) if times else "far"
    if choice == "exact":
        moment = draw(st.sampled_from(list(times)))
    elif choice == "between":
        index = draw(st.integers(0, len(times) - 1))
        after = (
            times[index + 1] if index + 1 < len(times) else times[index] + timedelta(milliseconds=1)
        )
        moment = times[index] + (after - times[index]) / 2
    else:
        moment = draw(st.sampled_from(FAR_TIMES))
    style = draw(st.sampled_from(["Z", "+00:00", "naive", "+05:30", "-08:00"]))
    if style == "naive":
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    if style == "Z":
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
    hours, _, minutes = style[1:].partition(":")
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    return moment.astimezone(timezone(offset if style[0] == "+" else -offset)).isoformat()


@dataclass
class FieldPlan:
    """A field and the strategies for its operands."""

    name: str
    kind: str
    operands: st.SearchStrategy[Any]  # for $eq, $ne, $in, $nin
    strings: Sequence[str] = ()  # catalog strings, for $regex and $contains
    comparable: st.SearchStrategy[Any] | None = None  # for $gt...: no booleans or null
    elements: st.SearchStrategy[Any] | None = None  # JSON only: $contains for arrays


def field_plans(target: str, pools: Pools) -> st.SearchStrategy[FieldPlan]:
    """Every field of the target, and JSON paths that exist, don't, or hold other types."""
    plans: list[tuple[int, st.SearchStrategy[FieldPlan]]] = []
    for name, kind in oracle.FIELDS[target].items():
        if kind in ("string", "list"):
            # Strings only: operands of another kind are refused (see INVALID_FILTERS).
            operands = from_pool(pools.strings[name], texts())
            plans.append((1, st.just(FieldPlan(name, kind, operands, pools.strings[name]))))
        elif kind == "time":
            plans.append((1, st.just(FieldPlan(name, kind, iso_times(pools.times[name])))))
        elif kind == "version":
            indexes = st.integers(0, max(pools.numbers[name], default=0) + 1)
            operands = st.one_of(indexes, indexes.map(lambda n: f"v{n}"))
            plans.append((1, st.just(FieldPlan(name, kind, operands))))
        else:
            sizes = pools.numbers[name]
            near = st.sampled_from(sizes).flatmap(lambda s: st.integers(s - 1, s + 1))
            operands = near if sizes else st.integers(0, 50)
            plans.append((1, st.just(FieldPlan(name, kind, operands))))
    roots = oracle.JSON_ROOTS[target]
    if roots:
        made_up = st.builds(
            lambda root, keys: ".".join([root, *keys]),
            st.sampled_from(roots),
            st.lists(st.sampled_from([*KEYS, "zz"]), min_size=1, max_size=3),
        )
        everywhere = pools.json_scalars()
        # The richest field kind: drawn about as often as all the columns together.
        paths = from_pool(list(pools.json), made_up)
        plans.append(
            (len(plans), paths.map(lambda p: json_plan(p, pools.json.get(p, []), everywhere)))
        )
    return weighted(*plans)


def json_plan(path: str, here: list[Any], everywhere: list[Any]) -> FieldPlan:
    """Operands for a JSON path: what the path holds, twins of it, what other paths hold,
    or anything. Filtered up front, not with .filter(), which can give up on a draw and
    throw the whole catalog away."""
    look_alikes = unique([twin for value in here for twin in twins(value)])

    def operands(keep: Callable[[Any], bool], anything: st.SearchStrategy[Any]) -> Any:
        pools = [(3, [v for v in here if keep(v)]), (2, [v for v in look_alikes if keep(v)])]
        pools.append((1, [v for v in everywhere if keep(v)]))
        return weighted(
            *[(weight, st.sampled_from(pool)) for weight, pool in pools if pool], (1, anything)
        )

    return FieldPlan(
        path,
        "json",
        operands(lambda v: True, scalars()),
        [value for value in [*here, *everywhere] if isinstance(value, str)],
        comparable=operands(lambda v: oracle.kind(v) in ("number", "string"), numbers() | texts()),
        elements=operands(lambda v: v is not None, st.booleans() | numbers() | texts()),
    )


@st.composite
def operator_objects(draw: st.DrawFn, plan: FieldPlan, allow_not: bool = True) -> dict[str, Any]:
    """One or two operators on the field, maybe with a $not of another operator object."""
    size = 1 + one_in(draw, 3)
    operators = st.sampled_from(OPERATORS_BY_KIND[plan.kind])
    chosen = draw(st.lists(operators, min_size=size, max_size=size, unique=True))
    condition: dict[str, Any] = {}
    for op in chosen:
        if op in ("$in", "$nin"):
            condition[op] = draw(st.lists(plan.operands, min_size=1, max_size=4))
        elif op == "$exists":
            condition[op] = draw(st.booleans())
        elif op == "$regex":
            condition[op] = draw(regexes(plan.strings))
            if draw(st.booleans()):
                condition["$options"] = "i"
        elif op == "$contains":
            # Substrings for strings and tags; for JSON, any scalar (array elements).
            substring = substrings(plan.strings)
            condition[op] = draw(substring if plan.elements is None else substring | plan.elements)
        elif op in ("$eq", "$ne"):
            condition[op] = draw(plan.operands)
        else:  # booleans and null are refused here
            condition[op] = draw(plan.operands if plan.comparable is None else plan.comparable)
    if allow_not and one_in(draw, 5):
        condition["$not"] = draw(operator_objects(plan, allow_not=False))
    return condition


@st.composite
def filters(draw: st.DrawFn, plans: st.SearchStrategy[FieldPlan], depth: int = 2) -> dict:
    """Up to three clauses: field shorthand, field operators, or $and/$or/$nor."""
    clauses: dict[str, Any] = {}
    counts = [1, 1, 1, 1, 1, 1, 2, 2, 3, 0] if depth == 2 else [1, 1, 2, 2, 3]
    for _ in range(draw(st.sampled_from(counts))):
        if depth > 0 and one_in(draw, 5):
            logical = draw(st.sampled_from(oracle.LOGICAL))
            clauses[logical] = draw(st.lists(filters(plans, depth - 1), min_size=1, max_size=3))
            continue
        plan = draw(plans)
        if one_in(draw, 4):
            clauses[plan.name] = draw(plan.operands)
        else:
            clauses[plan.name] = draw(operator_objects(plan))
    return clauses


@st.composite
def queries(draw: st.DrawFn, target: str, catalog: Catalog) -> dict[str, Any]:
    """A request body: filter, sort, order, page size and, for versions, extra scoping."""
    plans = catalog.plans(target)
    body: dict[str, Any] = {
        "filter": None if one_in(draw, 20) else draw(filters(plans)),
        "project": catalog.project,
        "sort": draw(st.sampled_from(SORTS[target])),
        "order": draw(st.sampled_from(["asc", "desc"])),
        "limit": draw(st.sampled_from([None, 1000, 1, 2, 3, 5])),
    }
    if body["limit"] is None:
        del body["limit"]
    if target == "registries":
        # Only this catalog's registries, whatever other tests made.
        del body["project"]
        mine = {"name": {"$regex": f"^{catalog.project}-"}}
        body["filter"] = {"$and": [mine, body["filter"] or {}]}
    if target == "versions":
        # One scoping or the other; both at once: test_collection_and_its_filter_both_apply.
        if one_in(draw, 6):
            names = [c["name"] for c in catalog.items["collections"]]
            body["collection"] = draw(st.sampled_from(names))
        elif one_in(draw, 5):
            body["collection_filter"] = draw(filters(catalog.plans("collections")))
    return body


# ------------------------------------------------------------------------- checking


def expected_items(catalog: Catalog, target: str, body: dict[str, Any]) -> list[dict]:
    """The oracle's answer to `body`, unordered."""
    items = catalog.items[target]
    if target == "versions":
        if "collection" in body:
            items = [v for v in items if v["collection"] == body["collection"]]
        if "collection_filter" in body:
            names = {
                c["name"]
                for c in oracle.evaluate(
                    "collections", catalog.items["collections"], body["collection_filter"]
                )
            }
            items = [v for v in items if v["collection"] in names]
    return oracle.evaluate(target, items, body.get("filter"))


def fetch_all(api: httpx.Client, target: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of the answer, following next_cursor."""
    got: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        response = api.post(f"/query/{target}", json={**body, "cursor": cursor})
        assert response.status_code == 200, (target, body, response.status_code, response.text)
        page = response.json()
        assert len(page["items"]) <= body.get("limit", 100), page
        got += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return got
    raise AssertionError(f"more than 1000 pages for {body}")


def describe(target: str, items: list[dict[str, Any]], ids: set[Any]) -> str:
    """The differing items, trimmed to what filters look at."""
    keep = (
        "id collection index name type description visibility tags aliases metadata size "
        "digest job_type state config summary created_at updated_at"
    ).split()
    picked = [
        {key: item[key] for key in keep if key in item}
        for item in items
        if identity(target, item) in ids
    ]
    return json.dumps(picked, ensure_ascii=False, default=str)


def check_query(api: httpx.Client, catalog: Catalog, target: str, body: dict[str, Any]) -> None:
    """The pages hold the oracle's items, each once, as GET shows them, in the asked order."""
    expected = expected_items(catalog, target, body)
    got = fetch_all(api, target, body)
    got_ids = [identity(target, item) for item in got]
    expected_ids = {identity(target, item) for item in expected}
    assert len(set(got_ids)) == len(got_ids), f"duplicates across pages: {got_ids} for {body}"
    if set(got_ids) != expected_ids:
        extra, lost = set(got_ids) - expected_ids, expected_ids - set(got_ids)
        raise AssertionError(
            f"POST /query/{target} {json.dumps(body, ensure_ascii=False)}\n"
            f"  returned but not expected: {describe(target, catalog.items[target], extra)}\n"
            f"  expected but not returned: {describe(target, catalog.items[target], lost)}"
        )
    by_id = {identity(target, item): item for item in catalog.items[target]}
    for item in got:
        assert item == by_id[identity(target, item)], "query items differ from the GET shape"

    sort = body["sort"]
    sort_of: Callable[[dict[str, Any]], Any] = (
        (lambda item: item["name"])  # created in name order (see the catalogs)
        if target in ("collections", "registries") and sort == "id"
        else (lambda item: oracle.sort_key(target, item, sort))
    )
    # With the right set, ordered keys pin the order down wherever the keys are unique (ids,
    # times); among equal keys (names, sizes) the order is the server's choice.
    keys = [sort_of(item) for item in got]
    descending = body["order"] == "desc"
    assert keys == sorted(keys, reverse=descending), f"not ordered by {sort}: {keys} for {body}"


# --------------------------------------------------------------------------- tests


@SETTINGS
@given(spec=artifact_catalogs(), data=st.data())
def test_version_and_collection_queries_agree_with_the_oracle(
    server: Server, spec: CatalogSpec, data: st.DataObject
) -> None:
    with server.api() as api:
        catalog = build(api, spec)
        for _ in range(QUERIES_PER_CATALOG):
            target = data.draw(st.sampled_from(["versions", "versions", "collections"]))
            check_query(api, catalog, target, data.draw(queries(target, catalog), label=target))


@SETTINGS
@given(spec=run_catalogs(), data=st.data())
def test_run_queries_agree_with_the_oracle(
    server: Server, spec: CatalogSpec, data: st.DataObject
) -> None:
    with server.api() as api:
        catalog = build(api, spec)
        for _ in range(QUERIES_PER_CATALOG):
            check_query(api, catalog, "runs", data.draw(queries("runs", catalog), label="runs"))


# ------------------------------------------------------------- the oracle by hand

VERSION = {
    "id": 7,
    "collection": "ds",
    "type": "model",
    "description": "Best é model",
    "tags": ["b2", "vision"],
    "aliases": ["latest"],
    "digest": "ab12",
    "created_at": "2024-05-01T12:00:00.500000Z",
    "updated_at": "2024-05-01T12:00:00.500000",
    "index": 3,
    "size": 10,
    "metadata": {
        "acc": 0.9,
        "n": 2,
        "f": 2.0,
        "flag": True,
        "none": None,
        "s": "Abc",
        "arr": [1, "x", None],
        "obj": {"k": {"deep": 1}},
        "objs": [{"b": 1}, 2],
    },
}
RUN = {
    "id": "r0",
    "name": "alpha",
    "job_type": "train",
    "state": "finished",
    "tags": [],
    "config": {"lr": 0.1, "layers": [64, 64]},
    "summary": {"loss": 0.25},
    "created_at": "2024-05-01T12:00:00+00:00",
    "updated_at": "2024-05-01T12:30:00+00:00",
}

ORACLE_CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None, bool]] = [
    ("versions", VERSION, None, True),
    ("versions", VERSION, {}, True),
    # Numbers are numbers, integers and floats alike; booleans are not numbers.
    ("versions", VERSION, {"metadata.acc": {"$gt": 0.5}}, True),
    ("versions", VERSION, {"metadata.n": 2.0}, True),
    ("versions", VERSION, {"metadata.f": 2}, True),
    ("versions", VERSION, {"metadata.flag": 1}, False),
    ("versions", VERSION, {"metadata.flag": True}, True),
    # Null only through $eq/$ne/$in/$nin; missing is not null.
    ("versions", VERSION, {"metadata.none": None}, True),
    ("versions", VERSION, {"metadata.missing": None}, False),
    ("versions", VERSION, {"metadata.missing": {"$ne": None}}, True),
    ("versions", VERSION, {"metadata.missing": {"$in": [None]}}, False),
    ("versions", VERSION, {"metadata.missing": {"$nin": [1]}}, True),
    ("versions", VERSION, {"metadata.none": {"$exists": True}}, True),
    ("versions", VERSION, {"metadata.missing": {"$exists": False}}, True),
    # Another kind never matches a positive operator; negations are complements.
    ("versions", VERSION, {"metadata.s": {"$gt": 1}}, False),
    ("versions", VERSION, {"metadata.s": {"$lt": 1}}, False),
    ("versions", VERSION, {"metadata.s": {"$ne": 1}}, True),
    ("versions", VERSION, {"metadata.s": {"$gt": "Ab"}}, True),
    ("versions", VERSION, {"metadata.s": {"$gt": "a"}}, False),  # "A" < "a" by code point
    ("versions", VERSION, {"metadata.n": {"$in": [1, "2", 2]}}, True),
    ("versions", VERSION, {"metadata.n": {"$nin": [1, "2"]}}, True),
    ("versions", VERSION, {"metadata.n": {"$gt": 1, "$lt": 2}}, False),
    ("versions", VERSION, {"metadata.n": {"$not": {"$gt": 5}}}, True),
    ("versions", VERSION, {"metadata.missing": {"$not": {"$gt": 5}}}, True),
    # Arrays: only $contains looks inside; strings: $contains is a substring test.
    ("versions", VERSION, {"metadata.arr": 1}, False),
    ("versions", VERSION, {"metadata.arr": {"$contains": 1.0}}, True),
    ("versions", VERSION, {"metadata.arr": {"$contains": "x"}}, True),
    ("versions", VERSION, {"metadata.arr": {"$contains": True}}, False),
    ("versions", VERSION, {"metadata.arr": {"$ne": 1}}, True),
    ("versions", VERSION, {"metadata.s": {"$contains": "bc"}}, True),
    ("versions", VERSION, {"metadata.s": {"$contains": "BC"}}, False),
    ("versions", VERSION, {"metadata.n": {"$contains": 2}}, False),
    ("versions", VERSION, {"metadata.s": {"$regex": "^a", "$options": "i"}}, True),
    ("versions", VERSION, {"metadata.s": {"$regex": "^a"}}, False),
    ("versions", VERSION, {"metadata.s": {"$regex": "b"}}, True),  # searched anywhere
    ("versions", VERSION, {"metadata.n": {"$regex": "2"}}, False),
    ("versions", VERSION, {"metadata.s": {"$not": {"$regex": "^a", "$options": "i"}}}, False),
    # Paths walk objects only.
    ("versions", VERSION, {"metadata.obj.k.deep": {"$gte": 1}}, True),
    ("versions", VERSION, {"metadata.obj.k": 1}, False),
    ("versions", VERSION, {"metadata.obj.k": {"$exists": True}}, True),
    ("versions", VERSION, {"metadata.s.x": {"$exists": True}}, False),
    ("versions", VERSION, {"metadata.arr.0": {"$exists": True}}, False),
    ("versions", VERSION, {"metadata.objs.b": 1}, False),
    ("versions", VERSION, {"metadata.objs.b": {"$exists": False}}, True),
    ("versions", VERSION, {"metadata.objs": {"$contains": 2}}, True),
    ("versions", VERSION, {"metadata.objs": {"$contains": 1}}, False),
    # List fields: any element; $ne and $nin mean no element.
    ("versions", VERSION, {"tag": "vision"}, True),
    ("versions", VERSION, {"tag": {"$ne": "vision"}}, False),
    ("versions", VERSION, {"tag": {"$ne": "nope"}}, True),
    ("versions", VERSION, {"tag": {"$nin": ["b2", "x"]}}, False),
    ("versions", VERSION, {"tag": {"$in": ["b2", "x"]}}, True),
    ("versions", VERSION, {"tag": {"$regex": "^V", "$options": "i"}}, True),
    ("versions", VERSION, {"tag": {"$regex": "^V"}}, False),
    ("versions", VERSION, {"tag": {"$contains": "isi"}}, True),
    ("versions", VERSION, {"tag": {"$gt": "c", "$lt": "c"}}, True),  # different elements
    ("versions", VERSION, {"tag": {"$not": {"$eq": "vision"}}}, False),
    ("versions", VERSION, {"tag": {"$exists": True}}, True),
    ("versions", VERSION, {"alias": "latest"}, True),
    ("versions", VERSION, {"alias": {"$exists": False}}, False),
    # Columns.
    ("versions", VERSION, {"name": "ds", "type": {"$in": ["model", "code"]}}, True),
    ("versions", VERSION, {"description": {"$contains": "é m"}}, True),
    ("versions", VERSION, {"digest": {"$regex": "^ab1.$"}}, True),
    ("versions", VERSION, {"version": 3}, True),
    ("versions", VERSION, {"version": "v3"}, True),
    ("versions", VERSION, {"version": {"$gt": "v2", "$lt": 4}}, True),
    ("versions", VERSION, {"version": {"$in": ["v1", 3]}}, True),
    ("versions", VERSION, {"version": {"$nin": ["v3"]}}, False),
    ("versions", VERSION, {"size": {"$lte": 10}}, True),
    # Times: ISO 8601, no zone means UTC, offsets count.
    ("versions", VERSION, {"created_at": "2024-05-01T12:00:00.5+00:00"}, True),
    ("versions", VERSION, {"created_at": "2024-05-01T14:00:00.500+02:00"}, True),
    ("versions", VERSION, {"created_at": {"$gt": "2024-05-01T13:00:00+02:00"}}, True),
    ("versions", VERSION, {"created_at": {"$gt": "2024-05-01T12:00:00.5"}}, False),
    ("versions", VERSION, {"updated_at": {"$in": ["2024-05-01T12:00:00.500Z"]}}, True),
    # Logic.
    ("versions", VERSION, {"$or": [{"tag": "nope"}, {"size": 10}]}, True),
    ("versions", VERSION, {"$nor": [{"tag": "nope"}, {"size": 10}]}, False),
    ("versions", VERSION, {"$and": [{"size": 10}, {"tag": "nope"}]}, False),
    ("versions", VERSION, {"size": 10, "tag": "nope"}, False),
    ("versions", VERSION, {"$or": [{"$nor": [{"size": 1}]}], "alias": "latest"}, True),
    # Runs.
    ("runs", RUN, {"id": "r0", "state": {"$in": ["finished", "failed"]}}, True),
    ("runs", RUN, {"config.lr": {"$lt": 0.2}, "summary.loss": 0.25}, True),
    ("runs", RUN, {"config.layers": {"$contains": 64}}, True),
    ("runs", RUN, {"summary.lr": {"$exists": True}}, False),
    (
        "runs",
        RUN,
        {"tag": {"$exists": False}, "job_type": {"$regex": "^TR", "$options": "i"}},
        True,
    ),
    ("runs", RUN, {"tag": {"$ne": "x"}}, True),
    ("runs", RUN, {"tag": {"$regex": ""}}, False),  # no element at all
    ("runs", RUN, {"updated_at": {"$gt": "2024-05-01T12:15:00Z"}, "name": {"$gte": "alp"}}, True),
]

INVALID_FILTERS: list[tuple[str, Any]] = [
    ("versions", {"nope": 1}),
    ("versions", {"metadata": 1}),
    ("versions", {"$or": []}),
    ("versions", {"$or": {"size": 1}}),
    ("versions", {"$xor": [{"size": 1}]}),
    ("versions", {"size": {"$foo": 1}}),
    ("versions", {"size": {"$in": 1}}),
    ("versions", {"size": {"$eq": [1]}}),
    ("versions", {"metadata.flag": {"$gt": False}}),
    ("versions", {"metadata.none": {"$lte": None}}),
    ("versions", {"metadata.arr": {"$contains": None}}),
    ("versions", {"tag": {"$exists": 1}}),
    ("versions", {"name": {"$regex": 1}}),
    ("versions", {"name": {"$options": "i"}}),
    ("versions", {"name": {"$not": 1}}),
    ("versions", {"version": "x"}),
    ("versions", {"created_at": "yesterday"}),
    ("versions", {"created_at": {"$gt": 5}}),
    # Columns refuse operands of another kind (JSON paths take any scalar).
    ("versions", {"name": 1}),
    ("versions", {"name": None}),
    ("versions", {"name": {"$ne": 1}}),
    ("versions", {"description": {"$gt": 0}}),
    ("versions", {"type": {"$in": [1, "model"]}}),
    ("versions", {"digest": {"$nin": [True]}}),
    ("versions", {"tag": True}),
    ("versions", {"tag": {"$nin": [None, 1]}}),
    ("versions", {"alias": {"$ne": 2.5}}),
    ("versions", {"size": "10"}),
    ("versions", {"size": {"$ne": None}}),
    ("versions", {"size": True}),
    ("versions", {"version": True}),
    ("runs", {"state": {"$contains": 1}}),
    ("runs", {"metadata.a": 1}),
    ("runs", {"alias": "best"}),
    ("collections", {"alias": "best"}),
    ("collections", {"digest": "ab"}),
]


@pytest.mark.parametrize(("target", "item", "flt", "expected"), ORACLE_CASES)
def test_the_oracle_on_hand_written_cases(
    target: str, item: dict[str, Any], flt: dict[str, Any] | None, expected: bool
) -> None:
    assert oracle.matches(target, item, flt) is expected


@pytest.mark.parametrize(("target", "flt"), INVALID_FILTERS)
def test_the_oracle_refuses_bad_filters(target: str, flt: Any) -> None:
    item = VERSION if target == "versions" else RUN
    with pytest.raises(oracle.InvalidFilter):
        oracle.matches(target, item, flt)


@pytest.mark.parametrize(("target", "flt"), INVALID_FILTERS)
def test_the_service_refuses_bad_filters(
    server: Server, project: str, target: str, flt: Any
) -> None:
    with server.api() as api:
        response = api.post(f"/query/{target}", json={"filter": flt, "project": project})
    assert response.status_code == 422, (response.status_code, response.text)
    assert isinstance(response.json()["detail"], str | list), response.text


def test_collection_and_its_filter_both_apply(server: Server, project: str) -> None:
    """`collection` and `collection_filter` narrow the versions together (AND)."""
    with server.api() as api:
        commit(api, project, "ds", {"f": b"1"}, type="model")
        commit(api, project, "m1", {"f": b"2"}, type="code")
        scoped = {"project": project, "collection": "m1"}
        assert ok(api.post("/query/versions", json=scoped))["items"] != []
        for collection_filter in [{"name": "ds"}, {"type": "model"}]:
            body = {**scoped, "collection_filter": collection_filter}
            assert ok(api.post("/query/versions", json=body))["items"] == [], body


@SETTINGS
@given(spec=registry_catalogs(), data=st.data())
def test_registry_queries_agree_with_the_oracle(
    server: Server, spec: CatalogSpec, data: st.DataObject
) -> None:
    with server.api() as api:
        catalog = build(api, spec)
        for _ in range(QUERIES_PER_CATALOG // 2):
            body = data.draw(queries("registries", catalog), label="registries")
            check_query(api, catalog, "registries", body)
