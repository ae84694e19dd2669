"""Validate OpenLineage events and facets against JSON Schemas.

No installable package ships the OpenLineage spec's JSON files, so the schemas are
derived from openlineage-python's ``generated`` classes, which are generated from that
spec: field names, types, required fields and enums. Each facet in an event is looked
up by its ``_schemaURL``; our custom facet is checked against the schema the package ships.
"""

from __future__ import annotations

import enum
import functools
import importlib
import json
import pkgutil
import types
import typing
from importlib import resources
from typing import Any

import attr
import jsonschema

_PRIMITIVES = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    Any: {},
}


def _schema_for(tp: Any, seen: set[type]) -> dict:
    origin = typing.get_origin(tp)
    if tp in _PRIMITIVES:
        return _PRIMITIVES[tp]
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema_for(a, seen) for a in typing.get_args(tp)]}
    if tp is type(None):
        return {"type": "null"}
    if origin in (list, typing.List):  # noqa: UP006
        (item,) = typing.get_args(tp) or (Any,)
        return {"type": "array", "items": _schema_for(item, seen)}
    if origin in (dict, typing.Dict):  # noqa: UP006
        args = typing.get_args(tp)
        return {"type": "object", "additionalProperties": _schema_for(args[1], seen) if args else {}}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [m.value for m in tp]}
    if isinstance(tp, type) and attr.has(tp):
        return class_schema(tp, seen)
    return {}


def class_schema(cls: type, seen: set[type] | None = None) -> dict:
    seen = set(seen or ())
    if cls in seen:
        return {"type": "object"}
    seen.add(cls)
    hints = typing.get_type_hints(cls)
    props, required = {}, []
    for field in attr.fields(cls):
        if field.name.startswith("_"):
            continue
        props[field.name] = _schema_for(hints.get(field.name, Any), seen)
        if field.default is attr.NOTHING:
            required.append(field.name)
    return {"type": "object", "properties": props, "required": required}


@functools.cache
def _facet_classes_by_url() -> dict[str, type]:
    import openlineage.client.generated as gen

    found: dict[str, type] = {}
    for mod in pkgutil.iter_modules(gen.__path__):
        module = importlib.import_module(f"{gen.__name__}.{mod.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and attr.has(obj) and hasattr(obj, "_get_schema"):
                try:
                    found.setdefault(obj._get_schema(), obj)
                except TypeError:
                    continue
    return found


@functools.cache
def verdict_schema() -> dict:
    text = resources.files("purpose_lineage.ol").joinpath("schemas/PurposeVerdictRunFacet.json").read_text()
    return json.loads(text)


def _validate_facet(name: str, facet: dict, problems: list[str]) -> None:
    url = facet.get("_schemaURL", "")
    if "PurposeVerdictRunFacet" in url:
        schema = dict(verdict_schema()["$defs"]["PurposeVerdictRunFacet"]["allOf"][1])
    else:
        cls = _facet_classes_by_url().get(url)
        if cls is None:
            if "openlineage.io/spec" in url:
                problems.append(f"{name}: unknown OpenLineage schema URL {url}")
            return  # a producer's own facet (e.g. Airflow's), checked by its producer
        schema = class_schema(cls)
    for err in jsonschema.Draft202012Validator(schema).iter_errors(facet):
        problems.append(f"{name}: {err.message} at {list(err.absolute_path)}")


def validate_event(event: dict) -> list[str]:
    """Every problem found in a serialized RunEvent; empty when valid."""
    from openlineage.client.event_v2 import RunEvent

    problems = [
        f"event: {e.message}"
        for e in jsonschema.Draft202012Validator(class_schema(RunEvent)).iter_errors(
            {k: v for k, v in event.items() if not k.startswith("_")}
        )
    ]
    for key, facet in (event.get("run", {}).get("facets") or {}).items():
        _validate_facet(f"run.{key}", facet, problems)
    for key, facet in (event.get("job", {}).get("facets") or {}).items():
        _validate_facet(f"job.{key}", facet, problems)
    for side in ("inputs", "outputs"):
        for ds in event.get(side) or []:
            for key, facet in (ds.get("facets") or {}).items():
                _validate_facet(f"{side}.{ds.get('name')}.{key}", facet, problems)
    return problems
