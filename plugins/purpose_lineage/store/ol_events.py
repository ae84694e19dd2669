"""OpenLineage events (JSON) -> one store :class:`~purpose_lineage.store.batch.Batch`.

Reads what Marquez drops: per-input ``transformations`` of ``ColumnLineageDatasetFacet``
(type, subtype, masking), its dataset-wide ``dataset`` list, field-level
``TagsDatasetFacet`` tags (keys ``purpose``/``data_use`` and ``data_category``/``category``)
and ``DataQualityAssertionsDatasetFacet``. Accepts RunEvent, JobEvent and DatasetEvent.

The whole event is parsed before anything is written, so a malformed event raises
:class:`~purpose_lineage.errors.LineageEventError` naming the faulty place and nothing is
stored. Messages name places, never values.

Mapping choices, each failing closed:

* a transformation without a subtype, or with one this package does not know, is kept:
  DIRECT becomes ``TRANSFORMATION``, INDIRECT becomes ``JOIN`` (the strictest indirect
  use); the producer's word is kept in the edge description;
* a subtype contradicting its type (DIRECT/JOIN) counts as DIRECT;
* an input field without transformations (facet 1-0/1-1) is a DIRECT edge
  (``IDENTITY`` when the field says ``transformationType: IDENTITY``, masked when ``MASKED``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from purpose_lineage.core.model import ColumnRef, Edge, EdgeKind, Subtype, Tag, TagSource, normalize_table
from purpose_lineage.errors import LineageEventError, StoreError
from purpose_lineage.store.base import EVENT_TYPES, Assertion, DatasetInfo, RunInfo, as_utc
from purpose_lineage.store.batch import Batch

PURPOSE_KEYS = ("purpose", "data_use")
CATEGORY_KEYS = ("data_category", "category")
TERMINAL = ("COMPLETE", "FAIL", "ABORT")


def parse_event(doc: Any) -> Batch:
    """Parse one OpenLineage event (a decoded JSON object).

    >>> b = parse_event({"eventTime": "2026-01-01T00:00:00Z", "eventType": "COMPLETE",
    ...     "run": {"runId": "r1"}, "job": {"namespace": "ns", "name": "j"},
    ...     "inputs": [{"namespace": "pg", "name": "a.b"}], "outputs": [{"namespace": "pg", "name": "c.d",
    ...     "facets": {"columnLineage": {"fields": {"x": {"inputFields": [{"namespace": "pg", "name": "a.b",
    ...     "field": "y", "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}]}]}}}}}]})
    >>> [(str(e.source), str(e.target), e.subtype.value) for e in b.edges]
    [('a.b.y', 'c.d.x', 'FILTER')]
    """
    p = _Parser()
    try:
        return p.event(doc)
    except LineageEventError:
        raise
    except StoreError as exc:
        raise LineageEventError(str(exc)) from None


class _Parser:
    def __init__(self) -> None:
        self.edges: list[Edge] = []
        self.tags: list[Tag] = []
        self.datasets: list[DatasetInfo] = []
        self.assertions: list[Assertion] = []

    def event(self, doc: Any) -> Batch:
        doc = _obj(doc, "event")
        when = _time(doc.get("eventTime"), "eventTime")
        producer = _opt_str(doc.get("producer"), "producer")
        if "dataset" in doc and "run" not in doc and "job" not in doc:  # DatasetEvent
            self.dataset(doc["dataset"], "dataset", output=False)
            return Batch.build(datasets=self.datasets, tags=self.tags, assertions=self.assertions)
        job = _obj(doc.get("job"), "job")
        job_ns, job_name = _str(job.get("namespace"), "job.namespace"), _str(job.get("name"), "job.name")
        inputs = [self.dataset(d, f"inputs[{i}]", output=False) for i, d in enumerate(_list(doc, "inputs"))]
        outputs = [self.dataset(d, f"outputs[{i}]", output=True) for i, d in enumerate(_list(doc, "outputs"))]
        if "run" in doc:  # RunEvent
            run_doc = _obj(doc["run"], "run")
            run_id = _str(run_doc.get("runId"), "run.runId")
            event_type = str(doc.get("eventType") or "OTHER").upper()
            if event_type not in EVENT_TYPES:
                raise LineageEventError(f"eventType: must be one of {', '.join(EVENT_TYPES)}")
            dag_id, task_id = _airflow_ids(run_doc, job, job_name)
        else:  # JobEvent: static lineage, keyed on the job and the event time
            run_id = "job-" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job_ns}/{job_name}"))
            event_type, dag_id, task_id = "OTHER", None, None
        run = RunInfo(run_id, event_type, when, job_ns, job_name, dag_id, task_id, producer)
        return Batch.build(
            run,
            datasets=self.datasets,
            edges=self.edges,
            tags=self.tags,
            inputs=inputs,
            outputs=outputs,
            assertions=self.assertions,
        )

    def dataset(self, doc: Any, where: str, *, output: bool) -> str:
        doc = _obj(doc, where)
        namespace = _str(doc.get("namespace"), f"{where}.namespace")
        table = _table(doc.get("name"), f"{where}.name")
        facets = _obj(doc.get("facets") or {}, f"{where}.facets")
        columns: list[str] = []
        if "schema" in facets:
            schema = _obj(facets["schema"], f"{where}.facets.schema")
            for i, f in enumerate(_list(schema, "fields", f"{where}.facets.schema")):
                columns.append(
                    _str(
                        _obj(f, f"{where}.facets.schema.fields[{i}]").get("name"),
                        f"{where}.facets.schema.fields[{i}].name",
                    )
                )
        self.datasets.append(DatasetInfo(table, tuple(columns), namespace))
        if "tags" in facets:
            self.tag_facet(facets["tags"], table, f"{where}.facets.tags")
        if output and "columnLineage" in facets:
            self.column_lineage(facets["columnLineage"], table, f"{where}.facets.columnLineage")
        for key in ("inputFacets", "facets"):
            holder = _obj(doc.get(key) or {}, f"{where}.{key}")
            if "dataQualityAssertions" in holder:
                self.quality(holder["dataQualityAssertions"], table, f"{where}.{key}.dataQualityAssertions")
        return table

    def column_lineage(self, facet: Any, table: str, where: str) -> None:
        facet = _obj(facet, where)
        fields = _obj(facet.get("fields") or {}, f"{where}.fields")
        for name, spec in fields.items():
            at = f"{where}.fields.{name}"
            spec = _obj(spec, at)
            target = ColumnRef(table, _str(name, at))
            legacy = _opt_str(spec.get("transformationType"), f"{at}.transformationType")
            legacy_desc = _opt_str(spec.get("transformationDescription"), f"{at}.transformationDescription")
            for i, inp in enumerate(_list(spec, "inputFields", at)):
                self.input_field(inp, target, f"{at}.inputFields[{i}]", legacy, legacy_desc)
        for i, inp in enumerate(_list(facet, "dataset", where)):
            self.input_field(inp, ColumnRef(table, None), f"{where}.dataset[{i}]", None, None)

    def input_field(
        self, doc: Any, target: ColumnRef, where: str, legacy: str | None, legacy_desc: str | None
    ) -> None:
        doc = _obj(doc, where)
        _str(doc.get("namespace"), f"{where}.namespace")
        source = ColumnRef(_table(doc.get("name"), f"{where}.name"), _str(doc.get("field"), f"{where}.field"))
        transformations = _list(doc, "transformations", where)
        if not transformations:
            subtype = Subtype.IDENTITY if (legacy or "").upper() == "IDENTITY" else Subtype.TRANSFORMATION
            masked = (legacy or "").upper() == "MASKED"
            self.edges.append(Edge(source, target, subtype, masked, legacy_desc))
            return
        for i, t in enumerate(transformations):
            at = f"{where}.transformations[{i}]"
            t = _obj(t, at)
            subtype, note = _subtype(t, at)
            masking = t.get("masking")
            if masking is not None and not isinstance(masking, bool):
                raise LineageEventError(f"{at}.masking: must be true, false or null")
            desc = _opt_str(t.get("description"), f"{at}.description")
            desc = "; ".join(x for x in (desc, note) if x) or None
            self.edges.append(Edge(source, target, subtype, bool(masking), desc))

    def tag_facet(self, facet: Any, table: str, where: str) -> None:
        facet = _obj(facet, where)
        by_field: dict[str | None, dict[str, list[tuple[str, str | None]]]] = {}
        for i, t in enumerate(_list(facet, "tags", where)):
            at = f"{where}.tags[{i}]"
            t = _obj(t, at)
            key = _str(t.get("key"), f"{at}.key").lower()
            value = _str(t.get("value"), f"{at}.value")
            source = _opt_str(t.get("source"), f"{at}.source")
            field = _opt_str(t.get("field"), f"{at}.field")
            kind = "purpose" if key in PURPOSE_KEYS else "category" if key in CATEGORY_KEYS else None
            if kind:
                by_field.setdefault(field, {"purpose": [], "category": []})[kind].append((value, source))
        for field, kinds in by_field.items():
            column = ColumnRef(table, field)
            purposes = kinds["purpose"] or [("", None)]
            categories = kinds["category"] or [("", None)]
            for purpose, p_source in purposes:
                for category, c_source in categories:
                    self.tags.append(Tag(column, category, purpose, _tag_source(p_source or c_source)))

    def quality(self, facet: Any, table: str, where: str) -> None:
        facet = _obj(facet, where)
        for i, a in enumerate(_list(facet, "assertions", where)):
            at = f"{where}.assertions[{i}]"
            a = _obj(a, at)
            success = a.get("success")
            if not isinstance(success, bool):
                raise LineageEventError(f"{at}.success: must be true or false")
            self.assertions.append(
                Assertion(
                    table,
                    _str(a.get("assertion"), f"{at}.assertion"),
                    success,
                    _opt_str(a.get("column"), f"{at}.column"),
                    _opt_str(a.get("severity"), f"{at}.severity"),
                )
            )


def _subtype(t: Mapping[str, Any], where: str) -> tuple[Subtype, str | None]:
    kind = _str(t.get("type"), f"{where}.type").upper()
    if kind not in (EdgeKind.DIRECT, EdgeKind.INDIRECT):
        raise LineageEventError(f"{where}.type: must be DIRECT or INDIRECT")
    raw = _opt_str(t.get("subtype"), f"{where}.subtype")
    known = Subtype.__members__.get((raw or "").upper())
    if known is not None and known.kind == kind:
        return known, None
    fallback = Subtype.TRANSFORMATION if kind == EdgeKind.DIRECT else Subtype.JOIN
    note = f"producer said {kind}/{raw}" if raw else f"producer said {kind} without subtype"
    return fallback, note


def _airflow_ids(
    run: Mapping[str, Any], job: Mapping[str, Any], job_name: str
) -> tuple[str | None, str | None]:
    facets = run.get("facets") if isinstance(run.get("facets"), dict) else {}
    airflow = facets.get("airflow") if isinstance(facets.get("airflow"), dict) else {}
    dag = airflow.get("dag") if isinstance(airflow.get("dag"), dict) else {}
    task = airflow.get("task") if isinstance(airflow.get("task"), dict) else {}
    dag_id, task_id = dag.get("dag_id"), task.get("task_id")
    if not dag_id:
        dag_run = facets.get("airflowDagRun") if isinstance(facets.get("airflowDagRun"), dict) else {}
        dag_id = (dag_run.get("dag") or {}).get("dag_id") if isinstance(dag_run.get("dag"), dict) else None
    job_facets = job.get("facets") if isinstance(job.get("facets"), dict) else {}
    job_type = job_facets.get("jobType") if isinstance(job_facets.get("jobType"), dict) else {}
    parent = facets.get("parent") if isinstance(facets.get("parent"), dict) else {}
    parent_job = parent.get("job") if isinstance(parent.get("job"), dict) else {}
    if not dag_id and str(job_type.get("integration", "")).upper() == "AIRFLOW":
        name = parent_job.get("name")
        if isinstance(name, str) and job_name.startswith(name + "."):
            dag_id, task_id = name, job_name[len(name) + 1 :]
        elif str(job_type.get("jobType", "")).upper() == "DAG":
            dag_id = job_name
    return (dag_id if isinstance(dag_id, str) else None, task_id if isinstance(task_id, str) else None)


def _tag_source(source: str | None) -> TagSource:
    try:
        return TagSource((source or "").lower())
    except ValueError:
        return TagSource.DECLARED  # a producer's tag is its declaration


def _obj(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise LineageEventError(f"{where}: must be a JSON object")
    return value


def _list(doc: Mapping[str, Any], key: str, where: str | None = None) -> list:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise LineageEventError(f"{(where + '.') if where else ''}{key}: must be a list")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LineageEventError(f"{where}: must be a non-empty string")
    return value


def _opt_str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise LineageEventError(f"{where}: must be a string")
    return value


def _table(value: Any, where: str) -> str:
    name = normalize_table(_str(value, where))
    if not name:
        raise LineageEventError(f"{where}: names no table")
    return name


def _time(value: Any, where: str):
    try:
        text = _str(value, where)
        if "." in text:  # OpenLineage allows nanoseconds; Python parses at most microseconds
            head, _, tail = text.partition(".")
            digits = len(tail) - len(tail.lstrip("0123456789"))
            tail = tail[: min(digits, 6)] + tail[digits:]
            text = f"{head}.{tail}"
        return as_utc(text)
    except ValueError:
        raise LineageEventError(f"{where}: must be an ISO-8601 date-time") from None
