"""Read a tags catalog (YAML, schema ``schemas/tags-catalog.schema.json``) for ``check``.

The file is composed into YAML nodes so that every problem keeps its line; it is validated
against the shipped JSON Schema, then against itself (a tagged column missing from the
table's declared columns). Keys that are not in the policy's taxonomy are warnings: a
category is then matched by its dotted prefix and a purpose counts as ``unknown``, both of
which fail closed.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path
from typing import Any

from purpose_lineage.core.model import ColumnRef, Tag, normalize_table
from purpose_lineage.core.pipeline import TagsCatalog
from purpose_lineage.core.policy import UNKNOWN_PURPOSE
from purpose_lineage.core.taxonomy import Taxonomy
from purpose_lineage.errors import CatalogError

SCHEMA_PATH = Path(__file__).with_name("schemas") / "tags-catalog.schema.json"


@cache
def catalog_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def read_tags_catalog(path: str | Path, taxonomy: Taxonomy | None = None) -> tuple[TagsCatalog, list[str]]:
    """The catalog in ``path`` and warnings (``file:line: message``).

    Raises:
        CatalogError: every problem found, each as ``file:line: where: message``.
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise CatalogError([f"{name}:0: cannot read tags catalog: {type(exc).__name__}: {why}"]) from None
    return parse_tags_catalog(text, name, taxonomy)


def parse_tags_catalog(
    text: str, name: str = "<tags>", taxonomy: Taxonomy | None = None
) -> tuple[TagsCatalog, list[str]]:
    """Parse catalog YAML text; see :func:`read_tags_catalog`.

    >>> cat, warnings = parse_tags_catalog('''
    ... version: 1
    ... tables:
    ...   users_2fa:
    ...     columns: [user_id, phone_number]
    ...     tags:
    ...       phone_number: {category: user.contact.phone_number, purpose: essential.service.security}
    ... ''')
    >>> [(str(t.column), t.purpose) for t in cat.tags], warnings
    ([('users_2fa.phone_number', 'essential.service.security')], [])
    >>> dict(cat.schemas)
    {'users_2fa': ('user_id', 'phone_number')}
    """
    import jsonschema
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise CatalogError(
            [f"{name}:{line}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]
        ) from None
    if node is None:
        raise CatalogError([f"{name}:1: empty tags catalog (expected 'version: 1' and 'tables')"])
    lines: dict[tuple, int] = {}
    try:
        data = _build(node, (), lines)
    except ValueError as exc:
        raise CatalogError([f"{name}:{exc.args[1]}: {exc.args[0]}"]) from None
    validator = jsonschema.Draft202012Validator(catalog_schema())
    problems = []
    errors = [_specific(e) for e in validator.iter_errors(data)]
    for err in sorted(errors, key=lambda e: ([str(p) for p in e.absolute_path], e.message)):
        where = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            known = list(err.schema.get("properties") or ())
            for extra in (k for k in err.instance if k not in known):
                hint = difflib.get_close_matches(str(extra), known, n=1)
                message = f"unknown field {extra!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
                problems.append(f"{name}:{_line(lines, (*where, extra))}: {_where(where)}: {message}")
            continue
        problems.append(f"{name}:{_line(lines, where)}: {_where(where)}: {_message(err)}")
    if problems:
        raise CatalogError(problems)
    return _catalog(data, name, lines, taxonomy)


def _build(node: Any, path: tuple, lines: dict[tuple, int]) -> Any:
    import yaml

    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise ValueError(f"{_where(path)}: keys must be names", key.start_mark.line + 1)
            k = key.value
            if k in out:
                raise ValueError(f"{_where(path)}: duplicate key {k!r}", key.start_mark.line + 1)
            out[k] = _build(value, (*path, k), lines)
            lines[(*path, k)] = key.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(v, (*path, i), lines) for i, v in enumerate(node.value)]
    loader = yaml.SafeLoader("")
    return loader.construct_object(node)


def _line(lines: dict[tuple, int], path: tuple) -> int:
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path, 1)


def _where(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "catalog"


def _specific(err: Any) -> Any:
    """For a mapping matching none of a oneOf's forms, the finding of the mapping form."""
    import jsonschema

    if err.validator == "oneOf" and isinstance(err.instance, dict):
        inner = [e for e in err.context or () if not (e.validator == "type" and not e.relative_path)]
        if inner:
            return _specific(jsonschema.exceptions.best_match(inner))
    return err


def _message(err: Any) -> str:
    if err.validator == "oneOf":
        return f"{_short(err.instance)} matches none of the allowed forms (see the catalog schema)"
    if err.validator == "pattern":
        return f"{_short(err.instance)} is not a valid name or key"
    return err.message


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _catalog(
    data: dict, name: str, lines: dict[tuple, int], taxonomy: Taxonomy | None
) -> tuple[TagsCatalog, list[str]]:
    prefix = data.get("default_schema")
    tags: list[Tag] = []
    schemas: dict[str, tuple[str, ...]] = {}
    problems: list[str] = []
    warnings: list[str] = []
    seen_tables: dict[str, str] = {}
    for raw_table, spec in data["tables"].items():
        table = normalize_table(raw_table)
        if prefix and "." not in table:
            table = f"{normalize_table(prefix)}.{table}"
        if table in seen_tables:
            line = _line(lines, ("tables", raw_table))
            problems.append(f"{name}:{line}: tables.{raw_table}: same table as {seen_tables[table]!r}")
            continue
        seen_tables[table] = raw_table
        spec = spec or {}
        columns = spec.get("columns")
        if columns:
            schemas[table] = tuple(str(c).lower() for c in columns)
        for raw_col, value in (spec.get("tags") or {}).items():
            col = None if raw_col == "*" else raw_col.lower()
            where = ("tables", raw_table, "tags", raw_col)
            if col is not None and table in schemas and col not in schemas[table]:
                problems.append(
                    f"{name}:{_line(lines, where)}: tables.{raw_table}.tags: column {raw_col!r} is not in "
                    f"the table's columns"
                )
                continue
            for i, tag in enumerate(value if isinstance(value, list) else [value]):
                purpose = tag.get("purpose") or UNKNOWN_PURPOSE
                at = f"{name}:{_line(lines, (*where, i) if isinstance(value, list) else where)}"
                if taxonomy is not None:
                    if not taxonomy.has("data_category", tag["category"]):
                        warnings.append(
                            f"{at}: category {tag['category']!r} is not a taxonomy key "
                            "(matched by its prefix)"
                        )
                    if purpose != UNKNOWN_PURPOSE and not taxonomy.has("data_use", purpose):
                        warnings.append(
                            f"{at}: purpose {purpose!r} is not a taxonomy key (treated as unknown)"
                        )
                tags.append(Tag(ColumnRef(table, col), tag["category"], purpose))
    if problems:
        raise CatalogError(problems)
    return TagsCatalog(tuple(tags), schemas, prefix), warnings
