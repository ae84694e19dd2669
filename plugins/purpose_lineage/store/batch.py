"""A write batch: everything one store call writes, in one transaction, and its JSON form.

Every write method of a store builds a :class:`Batch`; the spool keeps batches as JSON
files and replays them later. Inputs are validated and normalised here, once, so that a
batch that reaches the spool can always be applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag, TagSource, normalize_table
from purpose_lineage.errors import StoreError
from purpose_lineage.store.base import Assertion, DatasetInfo, RunInfo, Verdict, as_utc

FORMAT = 1
ROWS = ""  # column name of a table's row set (ColumnRef.column is None)


def normalize_column(name: str | None) -> str:
    """Stored column name: quotes stripped, lower case; ``None`` (the row set) is ``""``.

    >>> normalize_column('"Phone"'), normalize_column(None)
    ('phone', '')
    """
    if name is None:
        return ROWS
    return str(name).strip().strip('"`[]').lower()


def _table(name: object, what: str) -> str:
    if not isinstance(name, str) or not normalize_table(name):
        raise StoreError(f"{what}: table name must be a non-empty string, got {type(name).__name__}")
    return normalize_table(name)


def _ref(ref: object, what: str) -> ColumnRef:
    if not isinstance(ref, ColumnRef):
        raise StoreError(f"{what}: expected a ColumnRef, got {type(ref).__name__}")
    column = ref.column
    if column is not None and (not isinstance(column, str) or not normalize_column(column)):
        raise StoreError(f"{what}: column name must be a non-empty string or None")
    return ColumnRef(_table(ref.table, what), None if column is None else normalize_column(column))


def clean_edge(edge: Edge) -> Edge:
    if not isinstance(edge, Edge):
        raise StoreError(f"expected an Edge, got {type(edge).__name__}")
    try:
        subtype = Subtype(str(edge.subtype).upper())
    except ValueError:
        raise StoreError(
            f"edge subtype {edge.subtype!r} is not one of {[s.value for s in Subtype]}"
        ) from None
    if edge.target.column is None and edge.source.column is None and edge.source.table == edge.target.table:
        raise StoreError("edge from a table's row set to itself")
    return Edge(
        _ref(edge.source, "edge source"),
        _ref(edge.target, "edge target"),
        subtype,
        bool(edge.masking),
        edge.description if edge.description is None else str(edge.description),
    )


def clean_tag(tag: Tag, run_id: str | None = None) -> Tag:
    if not isinstance(tag, Tag):
        raise StoreError(f"expected a Tag, got {type(tag).__name__}")
    try:
        source = TagSource(str(tag.source).lower())
    except ValueError:
        raise StoreError(f"tag source {tag.source!r} is not one of {[s.value for s in TagSource]}") from None
    if (
        not isinstance(tag.category, str)
        or not isinstance(tag.purpose, str)
        or not (tag.category or tag.purpose)
    ):
        raise StoreError("a tag needs a category or a purpose (strings)")
    origin = None if tag.origin is None else _ref(tag.origin, "tag origin")
    return Tag(
        _ref(tag.column, "tag column"), tag.category, tag.purpose, source, origin, tag.run_id or run_id
    )


@dataclass(frozen=True)
class Batch:
    """One atomic write. ``run`` set means an OpenLineage event keyed on its idempotency key."""

    run: RunInfo | None = None
    datasets: tuple[DatasetInfo, ...] = ()
    edges: tuple[Edge, ...] = ()
    tags: tuple[Tag, ...] = ()
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    assertions: tuple[Assertion, ...] = ()
    verdicts: tuple[Verdict, ...] = ()

    @classmethod
    def build(
        cls,
        run: RunInfo | None = None,
        *,
        datasets: Iterable[DatasetInfo] = (),
        edges: Iterable[Edge] = (),
        tags: Iterable[Tag] = (),
        inputs: Iterable[str] = (),
        outputs: Iterable[str] = (),
        assertions: Iterable[Assertion] = (),
        verdicts: Iterable[Verdict] = (),
    ) -> Batch:
        """Validate and normalise; raises StoreError for input that could never be stored."""
        if run is not None and not isinstance(run, RunInfo):
            raise StoreError(f"expected RunInfo, got {type(run).__name__}")
        clean_edges = tuple(dict.fromkeys(clean_edge(e) for e in edges))
        ds = []
        for d in datasets:
            if not isinstance(d, DatasetInfo):
                raise StoreError(f"expected DatasetInfo, got {type(d).__name__}")
            cols = tuple(dict.fromkeys(normalize_column(c) for c in d.columns if normalize_column(c)))
            ds.append(DatasetInfo(_table(d.table, "dataset"), cols, str(d.namespace or "default")))
        ins = tuple(dict.fromkeys(_table(t, "input") for t in inputs))
        outs = tuple(dict.fromkeys(_table(t, "output") for t in outputs))
        if run is not None and not ins and not outs:
            ins = tuple(dict.fromkeys(e.source.table for e in clean_edges))
            outs = tuple(dict.fromkeys(e.target.table for e in clean_edges))
        checks = []
        for a in assertions:
            if not isinstance(a, Assertion) or not isinstance(a.assertion, str) or not a.assertion:
                raise StoreError("an assertion needs a non-empty name")
            checks.append(
                Assertion(
                    _table(a.table, "assertion"),
                    a.assertion,
                    bool(a.success),
                    normalize_column(a.column) or None,
                    a.severity,
                    a.run_id or (run.run_id if run else None),
                )
            )
        for v in verdicts:
            if not isinstance(v, Verdict):
                raise StoreError(f"expected Verdict, got {type(v).__name__}")
            try:
                json.dumps(list(v.violations))
            except (TypeError, ValueError) as exc:
                raise StoreError(f"verdict violations must be JSON-able: {exc}") from None
        return cls(
            run,
            tuple(ds),
            clean_edges,
            tuple(dict.fromkeys(clean_tag(t, run.run_id if run else None) for t in tags)),
            ins,
            outs,
            tuple(dict.fromkeys(checks)),
            tuple(verdicts),
        )

    # -- JSON (the spool format) ---------------------------------------------------------

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {"format": FORMAT}
        if self.run:
            r = self.run
            doc["run"] = [
                r.run_id,
                r.event_type,
                r.event_time.isoformat(),
                r.job_namespace,
                r.job_name,
                r.dag_id,
                r.task_id,
                r.producer,
            ]
        doc["datasets"] = [[d.table, list(d.columns), d.namespace] for d in self.datasets]
        doc["edges"] = [
            [
                e.source.table,
                e.source.column,
                e.target.table,
                e.target.column,
                e.subtype.value,
                e.masking,
                e.description,
            ]
            for e in self.edges
        ]
        doc["tags"] = [
            [
                t.column.table,
                t.column.column,
                t.category,
                t.purpose,
                t.source.value,
                t.origin.table if t.origin else None,
                t.origin.column if t.origin else None,
                t.run_id,
            ]
            for t in self.tags
        ]
        doc["inputs"], doc["outputs"] = list(self.inputs), list(self.outputs)
        doc["assertions"] = [
            [a.table, a.assertion, a.success, a.column, a.severity, a.run_id] for a in self.assertions
        ]
        doc["verdicts"] = [
            [
                v.run_id,
                v.dag_id,
                v.task_id,
                v.sink,
                v.passed,
                list(v.violations),
                v.affected_count,
                v.checked_at.isoformat(),
            ]
            for v in self.verdicts
        ]
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Batch:
        try:
            doc = json.loads(data)
            if doc.get("format") != FORMAT:
                raise ValueError(f"unknown spool format {doc.get('format')!r}")
            run = None
            if doc.get("run"):
                rid, etype, etime, ns, job, dag, task, producer = doc["run"]
                run = RunInfo(rid, etype, as_utc(etime), ns, job, dag, task, producer)
            return cls(
                run,
                tuple(DatasetInfo(t, tuple(c), ns) for t, c, ns in doc["datasets"]),
                tuple(
                    Edge(ColumnRef(st, sc), ColumnRef(tt, tc), Subtype(sub), bool(m), d)
                    for st, sc, tt, tc, sub, m, d in doc["edges"]
                ),
                tuple(
                    Tag(ColumnRef(t, c), cat, pur, TagSource(src), ColumnRef(ot, oc) if ot else None, rid)
                    for t, c, cat, pur, src, ot, oc, rid in doc["tags"]
                ),
                tuple(doc["inputs"]),
                tuple(doc["outputs"]),
                tuple(Assertion(t, a, bool(s), c, sev, rid) for t, a, s, c, sev, rid in doc["assertions"]),
                tuple(
                    Verdict(rid, dag, task, sink, bool(p), tuple(vs), n, as_utc(at))
                    for rid, dag, task, sink, p, vs, n, at in doc["verdicts"]
                ),
            )
        except StoreError:
            raise
        except Exception as exc:  # a damaged spool file: the caller quarantines it
            raise StoreError(f"unreadable spooled batch: {type(exc).__name__}: {exc}") from exc

    @property
    def tables(self) -> dict[str, str]:
        """Every table this batch names, with its namespace (``default`` unless a dataset says)."""
        names: dict[str, str] = {}
        for e in self.edges:
            names.setdefault(e.source.table, "default")
            names.setdefault(e.target.table, "default")
        for t in self.tags:
            names.setdefault(t.column.table, "default")
            if t.origin:
                names.setdefault(t.origin.table, "default")
        for name in (*self.inputs, *self.outputs, *(a.table for a in self.assertions)):
            names.setdefault(name, "default")
        for d in self.datasets:
            names[d.table] = d.namespace
        return names

    @property
    def columns(self) -> set[tuple[str, str]]:
        """Every (table, stored column name) this batch names, row sets included."""
        cols = {(t, ROWS) for t in self.tables}
        for e in self.edges:
            cols.add((e.source.table, normalize_column(e.source.column)))
            cols.add((e.target.table, normalize_column(e.target.column)))
        for t in self.tags:
            cols.add((t.column.table, normalize_column(t.column.column)))
            if t.origin:
                cols.add((t.origin.table, normalize_column(t.origin.column)))
        for d in self.datasets:
            cols.update((d.table, c) for c in d.columns)
        return cols


def naive_utc(value: datetime) -> datetime:
    """Databases get naive UTC timestamps (both backends store TIMESTAMP)."""
    return as_utc(value).replace(tzinfo=None)
