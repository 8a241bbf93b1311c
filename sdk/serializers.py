"""Serializers of `Artifact.add_object`: Python objects to files, and back with `get`.

The serializer's name is recorded in the object's manifest entry, so `Artifact.get`
reads it back the way it was written, whoever wrote it. Built in:

    json     dicts, lists, strings, numbers, booleans and None (dict keys strings,
             numbers finite): exactly what JSON round-trips
    numpy    numpy arrays, as `.npy` (dtype and shape kept; object arrays refused)
    text     a str, as UTF-8
    pickle   anything picklable; only with `allow_pickle=True`, for writing and for
             reading, since unpickling runs whatever code the file names

`register()` adds another (for example for a framework's tensors).
"""

import json
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from sdk.errors import ValidationError
from sdk.manifest import SERIALIZER_NAME


@dataclass(frozen=True)
class Serializer:
    name: str
    accepts: Callable[[Any], bool]
    dump: Callable[[Any, IO[bytes]], None]
    load: Callable[[IO[bytes]], Any]
    # Loading may run code the file names (pickle): needs allow_pickle=True both ways.
    runs_code: bool = False


def _is_json_safe(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_json_safe(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json_safe(v) for k, v in value.items())
    return False


def _dump_json(value: Any, out: IO[bytes]) -> None:
    out.write(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())


def _dump_array(array: np.ndarray, out: IO[bytes]) -> None:
    np.save(out, array, allow_pickle=False)


def _load_array(source: IO[bytes]) -> np.ndarray:
    return np.load(source, allow_pickle=False)


def _dump_pickle(value: Any, out: IO[bytes]) -> None:
    pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)


JSON = Serializer("json", _is_json_safe, _dump_json, lambda source: json.load(source))
NUMPY = Serializer(
    "numpy",
    lambda value: isinstance(value, np.ndarray) and not value.dtype.hasobject,
    _dump_array,
    _load_array,
)


def _dump_text(value: str, out: IO[bytes]) -> None:
    out.write(value.encode())


TEXT = Serializer(
    "text", lambda value: isinstance(value, str), _dump_text, lambda source: source.read().decode()
)
PICKLE = Serializer("pickle", lambda value: True, _dump_pickle, pickle.load, runs_code=True)

# Tried in this order when add_object is given no serializer; pickle only ever by name
# or as the last resort of a caller who allowed it.
_registry: dict[str, Serializer] = {s.name: s for s in (NUMPY, TEXT, JSON, PICKLE)}


def register(serializer: Serializer) -> None:
    """Add a serializer (tried before pickle when none is named); a name is taken once."""
    if not SERIALIZER_NAME.match(serializer.name):
        raise ValidationError(f"invalid serializer name {serializer.name!r}")
    if serializer.name in _registry:
        raise ValidationError(f"a serializer named {serializer.name!r} is already registered")
    _registry[serializer.name] = serializer


def named(name: str) -> Serializer:
    try:
        return _registry[name]
    except KeyError:
        known = ", ".join(sorted(_registry))
        raise ValidationError(f"unknown serializer {name!r}; known: {known}") from None


def for_object(value: Any, name: str | None, allow_pickle: bool) -> Serializer:
    """The serializer to write `value` with: the one named, else the first that accepts it."""
    if name is not None:
        chosen = named(name)
        check_allowed(chosen, allow_pickle)
        if not chosen.accepts(value):
            raise ValidationError(f"the {name!r} serializer cannot store a {type(value).__name__}")
        return chosen
    candidates = [s for s in _registry.values() if not s.runs_code]
    candidates += [s for s in _registry.values() if s.runs_code and allow_pickle]
    for candidate in candidates:
        if candidate.accepts(value):
            return candidate
    raise ValidationError(
        f"no serializer stores a {type(value).__name__}: use JSON-safe values, a str "
        "or a numpy array, or pass serializer='pickle' with allow_pickle=True"
    )


def check_allowed(serializer: Serializer, allow_pickle: bool) -> None:
    if serializer.runs_code and not allow_pickle:
        raise ValidationError(
            f"the {serializer.name!r} serializer can run arbitrary code when its file is "
            "read; pass allow_pickle=True if you trust this object"
        )
