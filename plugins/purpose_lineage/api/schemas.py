"""Pydantic response models of the HTTP API (built from the store's dataclasses)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from purpose_lineage.core.model import ColumnRef, Edge, Tag
from purpose_lineage.store.base import Assertion, DatasetInfo, RunRecord, Verdict


class ColumnRefModel(BaseModel):
    table: str
    column: str | None = Field(None, description="null: the table's row set (join keys, filters)")

    @classmethod
    def of(cls, ref: ColumnRef) -> ColumnRefModel:
        return cls(table=ref.table, column=ref.column)


class EdgeModel(BaseModel):
    source: ColumnRefModel
    target: ColumnRefModel
    kind: Literal["DIRECT", "INDIRECT"]
    subtype: str
    masking: bool
    description: str | None = None

    @classmethod
    def of(cls, e: Edge) -> EdgeModel:
        return cls(
            source=ColumnRefModel.of(e.source),
            target=ColumnRefModel.of(e.target),
            kind=e.kind.value,
            subtype=e.subtype.value,
            masking=e.masking,
            description=e.description,
        )


class ClosureResponse(BaseModel):
    root: ColumnRefModel
    direction: Literal["upstream", "downstream"]
    depth: int
    columns: list[ColumnRefModel]
    edges: list[EdgeModel]


class PathModel(BaseModel):
    source: ColumnRefModel
    target: ColumnRefModel
    edge_kinds: list[str] = Field(description="TYPE/SUBTYPE of each edge, e.g. INDIRECT/JOIN")
    edges: list[EdgeModel]


class PathsResponse(BaseModel):
    sink: str
    depth: int
    paths: list[PathModel]


class RunModel(BaseModel):
    run_id: str
    job_namespace: str
    job_name: str
    dag_id: str | None
    task_id: str | None
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    inputs: list[str]
    outputs: list[str]

    @classmethod
    def of(cls, r: RunRecord) -> RunModel:
        return cls(**{**r.__dict__, "inputs": list(r.inputs), "outputs": list(r.outputs)})


class VerdictModel(BaseModel):
    run_id: str
    dag_id: str
    task_id: str
    sink: str
    passed: bool
    violations: list[dict[str, Any]]
    affected_count: int | None
    checked_at: datetime

    @classmethod
    def of(cls, v: Verdict) -> VerdictModel:
        return cls(**{**v.__dict__, "violations": [dict(x) for x in v.violations]})


class HistoryResponse(BaseModel):
    table: str
    runs: list[RunModel]
    verdicts: list[VerdictModel]


class DatasetModel(BaseModel):
    table: str
    namespace: str
    columns: list[str]

    @classmethod
    def of(cls, d: DatasetInfo) -> DatasetModel:
        return cls(table=d.table, namespace=d.namespace, columns=list(d.columns))


class TagModel(BaseModel):
    column: ColumnRefModel
    category: str
    purpose: str
    source: str
    origin: ColumnRefModel | None
    run_id: str | None

    @classmethod
    def of(cls, t: Tag) -> TagModel:
        return cls(
            column=ColumnRefModel.of(t.column),
            category=t.category,
            purpose=t.purpose,
            source=t.source.value,
            origin=ColumnRefModel.of(t.origin) if t.origin else None,
            run_id=t.run_id,
        )


class AssertionModel(BaseModel):
    table: str
    column: str | None
    assertion: str
    success: bool
    severity: str | None
    run_id: str | None

    @classmethod
    def of(cls, a: Assertion) -> AssertionModel:
        return cls(**a.__dict__)


class GraphResponse(BaseModel):
    datasets: list[DatasetModel]
    edges: list[EdgeModel]
    tags: list[TagModel]
    runs: list[RunModel]
    verdicts: list[VerdictModel]
    assertions: list[AssertionModel]


class IngestResponse(BaseModel):
    status: Literal["stored", "spooled"] = Field(
        description="stored: in the store now; spooled: the store is unreachable, the event waits locally"
    )
    run_id: str | None = None
