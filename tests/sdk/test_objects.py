"""Python objects in artifacts: add_object / get through the serializer registry, and figures."""

import json
from dataclasses import dataclass
from fractions import Fraction
from typing import IO

import matplotlib
import numpy as np
import pytest

import sdk
from sdk.errors import NotFoundError, ValidationError
from sdk.manifest import Manifest
from sdk.serializers import Serializer

matplotlib.use("Agg")  # no display in tests

OBJECTS = {
    "params": {"lr": 0.001, "layers": [64, 32], "name": "résumé", "dropout": None, "ok": True},
    "labels": ["cat", "dog", 3, 2.5, [1, {"nested": False}]],
    "weights": np.arange(24, dtype=np.float16).reshape(2, 3, 4),
    "mask": np.array([[True, False], [False, True]]),
    "ids": np.array([7, 8, 9], dtype=np.uint64),
    "notes.txt": "line one\nline two — ünïcode\n",
}
EXPECTED_SERIALIZERS = {
    "params": "json",
    "labels": "json",
    "weights": "numpy",
    "mask": "numpy",
    "ids": "numpy",
    "notes.txt": "text",
}


def assert_same(name: str, got: object, want: object) -> None:
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray), name
        assert (got.dtype, got.shape) == (want.dtype, want.shape), name
        assert np.array_equal(got, want), name
    else:
        assert got == want and type(got) is type(want), name


def test_objects_round_trip_through_the_server_with_their_serializer(tmp_path, project):
    art = sdk.Artifact("objects", type="sample")
    for name, obj in OBJECTS.items():
        entry = art.add_object(obj, name)
        assert entry.serializer == EXPECTED_SERIALIZERS[name]
    for name, obj in OBJECTS.items():  # a draft reads its own objects back
        assert_same(name, art.get(name), obj)
    with sdk.init(project=project) as run:
        run.log_artifact(art)

    fetched = sdk.Api().artifact(f"{project}/objects:latest")
    for name, obj in OBJECTS.items():
        assert_same(name, fetched.get(name), obj)
    # The serializer is part of the stored manifest entry.
    manifest = json.loads(fetched.manifest.to_bytes())
    assert {path: e["serializer"] for path, e in manifest["entries"].items()} == (
        EXPECTED_SERIALIZERS
    )
    # Files on disk are the plain formats: a .npy numpy reads, JSON any tool reads.
    root = fetched.download(tmp_path / "out")
    assert np.load(f"{root}/weights").dtype == np.float16
    assert json.loads(open(f"{root}/params", encoding="utf-8").read()) == OBJECTS["params"]


def test_a_named_serializer_is_used_and_must_fit_the_object(project):
    art = sdk.Artifact("named", type="config")
    art.add_object("42", "answer.json", serializer="json")
    assert art.get("answer.json") == "42" and art.get_entry("answer.json").serializer == "json"
    with pytest.raises(ValidationError, match="'numpy' serializer cannot store a list"):
        art.add_object([1, 2], "a.npy", serializer="numpy")
    with pytest.raises(ValidationError, match="unknown serializer 'yaml'"):
        art.add_object({}, "a.yaml", serializer="yaml")


@pytest.mark.parametrize(
    "value",
    [(1, 2), {1: "int key"}, float("nan"), {"x": float("inf")}, Fraction(1, 3), b"bytes"],
)
def test_values_json_cannot_round_trip_are_refused_without_pickle(value):
    art = sdk.Artifact("refused", type="sample")
    with pytest.raises(ValidationError, match="allow_pickle=True"):
        art.add_object(value, "value")
    assert len(art.files()) == 0


def test_object_arrays_are_not_numpy_files():
    art = sdk.Artifact("refused", type="sample")
    with pytest.raises(ValidationError, match="'numpy' serializer cannot store"):
        art.add_object(np.array([{"a": 1}], dtype=object), "objs", serializer="numpy")


def test_pickle_needs_allow_pickle_to_write_and_to_read(project):
    art = sdk.Artifact("pickled", type="sample")
    obj = {"when": Fraction(1, 3), "shape": (2, 3)}
    with pytest.raises(ValidationError, match="allow_pickle=True"):
        art.add_object(obj, "state.pkl", serializer="pickle")
    with pytest.raises(ValidationError, match="allow_pickle=True"):
        art.add_object(obj, "state.pkl")
    assert art.add_object(obj, "state.pkl", allow_pickle=True).serializer == "pickle"
    with sdk.init(project=project) as run:
        run.log_artifact(art)

    fetched = sdk.Api().artifact(f"{project}/pickled:v0")
    with pytest.raises(ValidationError, match="allow_pickle=True"):
        fetched.get("state.pkl")
    assert fetched.get("state.pkl", allow_pickle=True) == obj


def test_an_object_path_is_taken_once_unless_overwritten():
    art = sdk.Artifact("twice", type="sample")
    art.add_object({"v": 1}, "state")
    with pytest.raises(ValidationError, match="given twice"):
        art.add_object({"v": 2}, "state")
    assert art.get("state") == {"v": 1}
    art.add_object({"v": 3}, "state", overwrite=True)
    assert art.get("state") == {"v": 3}


def test_get_refuses_plain_files_and_unknown_names(tmp_path):
    source = tmp_path / "data.csv"
    source.write_text("a,b\n")
    art = sdk.Artifact("mixed", type="dataset")
    art.add_file(source)
    with pytest.raises(ValidationError, match="not an object from add_object"):
        art.get("data.csv")
    with pytest.raises(NotFoundError):
        art.get("missing")


@dataclass(frozen=True)
class Celsius:
    degrees: float


def dump_celsius(value: Celsius, out: IO[bytes]) -> None:
    out.write(repr(value.degrees).encode())


def test_a_registered_serializer_is_chosen_and_recorded(project):
    sdk.serializers.register(
        Serializer(
            name=f"celsius-{project}",
            accepts=lambda value: isinstance(value, Celsius),
            dump=dump_celsius,
            load=lambda source: Celsius(float(source.read())),
        )
    )
    art = sdk.Artifact("temperatures", type="sample")
    assert art.add_object(Celsius(21.5), "room").serializer == f"celsius-{project}"
    with sdk.init(project=project) as run:
        run.log_artifact(art)
    assert sdk.Api().artifact(f"{project}/temperatures:v0").get("room") == Celsius(21.5)
    with pytest.raises(ValidationError, match="already registered"):
        sdk.serializers.register(sdk.serializers.JSON)
    with pytest.raises(ValidationError, match="invalid serializer name"):
        sdk.serializers.register(Serializer("a/b", bool, dump_celsius, bytes))


def test_add_figure_stores_a_png(tmp_path, project):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2))
    figure.add_subplot().plot([0, 1, 2], [1, 0, 1])
    art = sdk.Artifact("plots", type="viz")
    entry = art.add_figure("loss.png", figure)
    assert entry.serializer is None
    with sdk.init(project=project) as run:
        run.log_artifact(art)
    path = sdk.Api().artifact(f"{project}/plots:v0").file(tmp_path)
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValidationError, match="matplotlib figure"):
        sdk.Artifact("plots", type="viz").add_figure("x.png", [1, 2])


def test_a_manifest_entry_with_a_malformed_serializer_is_refused():
    entry = {"digest": "0" * 32, "size": 1, "serializer": "../evil"}
    document = {"entries": {"a": entry}, "hash": "xxh3-128", "version": 1}
    with pytest.raises(ValueError, match="invalid 'serializer'"):
        Manifest.from_bytes(json.dumps(document).encode())
    # An entry naming a serializer this client lacks reads as a clear error, not a crash.
    with pytest.raises(ValidationError, match="unknown serializer"):
        sdk.serializers.named("not-registered")


def test_pickle_is_never_chosen_for_plain_values():
    art = sdk.Artifact("plain", type="sample")
    assert art.add_object({"a": 1}, "a", allow_pickle=True).serializer == "json"
    assert art.add_object(np.zeros(2), "b", allow_pickle=True).serializer == "numpy"
