"""Response models of the lineage page's JSON API (``/ui/api/...``).

Metadata only: names of tables and columns, tags, edge kinds, runs and verdicts.
No model here has a field for a data value.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TagBadge(BaseModel):
    """A tag as a badge on a column: what it is and what it was collected for."""

    category: str
    purpose: str
    source: str


class ColumnNode(BaseModel):
    id: str = Field(description="Opaque node id, stable within one response.")
    name: str
    tags: list[TagBadge] = []
    violating: bool = False


class DatasetNode(BaseModel):
    id: str
    table: str
    namespace: str = "default"
    columns: list[ColumnNode] = []
    rows_id: str = Field(description="Node id of the table's row set (target of join keys and filters).")
    sink: bool = False
    violating: bool = False


class GraphEdge(BaseModel):
    id: str
    source: str
    target: str
    kind: str
    subtype: str
    masking: bool = False
    violating: bool = False
    inferred: bool = Field(False, description="Drawn from a verdict's path; not an edge of the store.")
    description: str | None = None


class PathHop(BaseModel):
    table: str
    column: str | None = None
    edge: str | None = None


class ViolationInfo(BaseModel):
    rule: str = ""
    purpose: str = ""
    category: str = ""
    source: str = ""
    source_column: str | None = None
    sink: str = ""
    sink_column: str | None = None
    path: list[PathHop] = []


class VerdictInfo(BaseModel):
    run_id: str
    dag_id: str
    task_id: str
    sink: str
    passed: bool
    checked_at: datetime
    affected_count: int | None = None
    violations: list[ViolationInfo] = []
    current: bool = Field(False, description="Newest verdict of its DAG, task and sink: its paths are drawn.")
    airflow_run_id: str | None = None


class RunInfoOut(BaseModel):
    run_id: str
    dag_id: str | None = None
    task_id: str | None = None
    job_name: str = ""
    state: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    airflow_run_id: str | None = Field(None, description="The Airflow DAG run id, when it can be told.")


class Facets(BaseModel):
    """The values the filters offer."""

    purposes: list[str] = []
    categories: list[str] = []
    sinks: list[str] = []
    dags: list[str] = []
    runs: list[RunInfoOut] = []


class GraphStats(BaseModel):
    datasets: int
    columns: int
    edges: int
    violating_edges: int


class GraphResponse(BaseModel):
    datasets: list[DatasetNode]
    edges: list[GraphEdge]
    verdicts: list[VerdictInfo]
    facets: Facets
    filters: dict[str, str | int | None]
    stats: GraphStats
    data_docs_url: str | None = None


class TagProvenance(BaseModel):
    category: str
    purpose: str
    source: str
    origin: str | None = Field(None, description="The column the tag was propagated from.")
    run_id: str | None = None


class ColumnDetail(BaseModel):
    name: str
    tags: list[TagProvenance] = []


class AssertionInfo(BaseModel):
    assertion: str
    success: bool
    column: str | None = None
    severity: str | None = None
    run_id: str | None = None


class NodeRun(RunInfoOut):
    wrote: bool = False
    read: bool = False


class NodeResponse(BaseModel):
    table: str
    namespace: str = "default"
    column: str | None = None
    columns: list[ColumnDetail]
    runs: list[NodeRun]
    verdicts: list[VerdictInfo]
    assertions: list[AssertionInfo]
    upstream: list[str] = Field([], description="Tables feeding this one (one hop).")
    downstream: list[str] = Field([], description="Tables fed by this one (one hop).")
    data_docs_url: str | None = None
