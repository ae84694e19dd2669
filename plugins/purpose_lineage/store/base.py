"""The lineage store contract: what every backend stores and answers.

A store holds datasets and their columns, column edges with their OpenLineage
transformation type, purpose tags with their provenance, runs and guard verdicts.
Backends are chosen by URL scheme (see :func:`purpose_lineage.store.open_store`).

Contract shared by all backends:

* **Writes never lose data.** A write that cannot reach the store (server down,
  DuckDB file locked by another process) is spooled to a local folder and replayed
  later, exactly once. Writes therefore do not raise on an unreachable store;
  they raise :class:`~purpose_lineage.errors.StoreError` only for input that can
  never be stored.
* **Writes are idempotent.** ``record_lineage`` is keyed on run id + event type +
  event time: a replayed or retried event changes nothing. Edges are keyed on
  (source, target, subtype), so a task retry adds provenance, never a second edge.
* **Reads fail closed.** A read on an unreachable store raises ``StoreError``; the
  guard turns that into a failed check, never into "no lineage, so no violation".

Graph semantics: a :class:`~purpose_lineage.core.model.ColumnRef` whose column is
``None`` is the *row set* of its table (the target of OpenLineage's dataset-wide
``dataset`` list: join keys and filters that decide which rows exist). Whatever
decides the rows of a table influences every column of it, so closures and paths
step from ``t.<rows>`` to every column ``t.c`` (and back, upstream). In a path,
such a step is implicit: an edge into ``t`` (no column) may be followed by an
edge out of any column of ``t``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from purpose_lineage.core.model import ColumnRef, Edge, Tag, TagSource, Violation, normalize_table

if TYPE_CHECKING:
    from purpose_lineage.store.batch import Batch

DEFAULT_NAMESPACE = "default"
DEFAULT_DEPTH = 20  # as Marquez
DEFAULT_MAX_PATHS = 10_000
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
ALERT_CLAIM_RETENTION_DAYS = 30


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | str) -> datetime:
    """An aware UTC datetime from a datetime or an ISO-8601 string (naive means UTC).

    >>> as_utc("2026-01-02T03:04:05+01:00").isoformat()
    '2026-01-02T02:04:05+00:00'
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def as_column_ref(ref: ColumnRef | str) -> ColumnRef:
    """A :class:`ColumnRef` from itself or from ``"table"``/``"schema.table.column"`` text.

    Text names a *table* unless it is given as ``ColumnRef``: ``"main.users"`` is the table
    ``main.users``. Use ``ColumnRef("main.users", "phone")`` for a column.

    >>> as_column_ref('"Main".Users')
    ColumnRef(table='main.users', column=None)
    """
    if isinstance(ref, ColumnRef):
        return ColumnRef(normalize_table(ref.table), ref.column)
    return ColumnRef(normalize_table(ref), None)


def ref_key(ref: ColumnRef) -> tuple:
    """Sort key of a column reference; a table's row set (column ``None``) sorts first."""
    return (ref.table, ref.column is not None, ref.column or "")


def edge_key(edge: Edge) -> tuple:
    """Sort key of an edge: stores return edges in this order.

    >>> x = ColumnRef("a", "x")
    >>> e = [Edge(x, ColumnRef("b", "y"), "IDENTITY"), Edge(x, ColumnRef("b", None), "JOIN")]
    >>> [str(x.target) for x in sorted(e, key=edge_key)]
    ['b', 'b.y']
    """
    return (
        ref_key(edge.source),
        ref_key(edge.target),
        str(edge.subtype),
        edge.masking,
        edge.description or "",
    )


def tag_key(tag: Tag) -> tuple:
    """Sort key of a tag: stores return tags in this order."""
    origin = ref_key(tag.origin) if tag.origin is not None else ()
    return (ref_key(tag.column), tag.category, tag.purpose, str(tag.source), origin, tag.run_id or "")


def path_key(path: Sequence[Edge]) -> list:
    return [edge_key(e) for e in path]


@dataclass(frozen=True)
class RunInfo:
    """One OpenLineage run event: the idempotency key of a ``record_lineage`` call.

    ``(run_id, event_type, event_time)`` identifies the event: recording it twice is a no-op.
    """

    run_id: str
    event_type: str = "COMPLETE"
    event_time: datetime = field(default_factory=utcnow)
    job_namespace: str = DEFAULT_NAMESPACE
    job_name: str = ""
    dag_id: str | None = None
    task_id: str | None = None
    producer: str | None = None

    def __post_init__(self) -> None:
        if not self.run_id:
            raise ValueError("RunInfo.run_id must not be empty")
        event_type = str(self.event_type).upper()
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.event_type!r}; expected one of {EVENT_TYPES}")
        object.__setattr__(self, "event_type", event_type)
        object.__setattr__(self, "event_time", as_utc(self.event_time))

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.run_id, self.event_type, self.event_time.isoformat())


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset (table) and the columns known for it."""

    table: str
    columns: tuple[str, ...] = ()
    namespace: str = DEFAULT_NAMESPACE

    def __post_init__(self) -> None:
        object.__setattr__(self, "table", normalize_table(self.table))
        object.__setattr__(self, "columns", tuple(dict.fromkeys(self.columns)))


@dataclass(frozen=True)
class Assertion:
    """One data-quality assertion on a dataset or column (``DataQualityAssertionsDatasetFacet``)."""

    table: str
    assertion: str
    success: bool
    column: str | None = None
    severity: str | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The outcome of one guard check of one sink in one task run.

    ``violations`` are JSON-able dicts (see :meth:`from_violations` for model objects).
    """

    run_id: str
    dag_id: str
    task_id: str
    sink: str
    passed: bool
    violations: tuple[Mapping[str, Any], ...] = field(default=(), hash=False)
    affected_count: int | None = None
    checked_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sink", normalize_table(self.sink))
        object.__setattr__(self, "violations", tuple(dict(v) for v in self.violations))
        object.__setattr__(self, "checked_at", as_utc(self.checked_at))

    @classmethod
    def from_violations(
        cls, violations: Iterable[Violation], *, run_id: str, dag_id: str, task_id: str, sink: str, **kw: Any
    ) -> Verdict:
        found = [dataclasses.asdict(v) for v in violations]
        return cls(run_id, dag_id, task_id, sink, passed=not found, violations=tuple(found), **kw)


@dataclass(frozen=True)
class RunRecord:
    """What the store knows about a run: its job, last state and the tables it read and wrote."""

    run_id: str
    job_namespace: str
    job_name: str
    dag_id: str | None
    task_id: str | None
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class GraphSnapshot:
    """The part of the store a UI draws: datasets with columns, edges, tags, runs and verdicts."""

    datasets: tuple[DatasetInfo, ...] = ()
    edges: tuple[Edge, ...] = ()
    tags: tuple[Tag, ...] = ()
    runs: tuple[RunRecord, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    assertions: tuple[Assertion, ...] = ()


TagPredicate = Callable[[Tag], bool]


class LineageStore(ABC):
    """A lineage store. Use :func:`purpose_lineage.store.open_store` to get one.

    Stores are context managers; ``close()`` releases connections (DuckDB keeps none open
    between calls, so that other processes can write).
    """

    url: str

    # -- writes (spooled when the store is unreachable; idempotent) ----------------------

    @abstractmethod
    def record_dataset(
        self, table: str, columns: Sequence[str] = (), namespace: str = DEFAULT_NAMESPACE
    ) -> None:
        """Record a dataset and its columns (existing columns are kept)."""

    @abstractmethod
    def record_lineage(
        self,
        run: RunInfo,
        edges: Iterable[Edge] = (),
        tags: Iterable[Tag] = (),
        datasets: Iterable[DatasetInfo] = (),
        *,
        inputs: Iterable[str] = (),
        outputs: Iterable[str] = (),
        assertions: Iterable[Assertion] = (),
    ) -> bool:
        """Record one run event with its lineage, all or nothing.

        Tables named by edges, tags and datasets are created as needed. ``inputs`` and
        ``outputs`` default to the edges' source and target tables.

        Returns:
            True if the event is in the store when this returns (applied now, or already
            there: a replay changes nothing), False if it waits in the spool (see :meth:`pending`).
        """

    @abstractmethod
    def record_batch(self, batch: Batch) -> bool:
        """Write a prepared :class:`~purpose_lineage.store.batch.Batch` (e.g. a parsed OpenLineage
        event) in one transaction; same contract and return value as :meth:`record_lineage`."""

    @abstractmethod
    def record_tags(self, tags: Iterable[Tag]) -> None:
        """Record purpose tags (declared, detected or propagated) with their provenance."""

    @abstractmethod
    def record_verdict(self, verdict: Verdict) -> None:
        """Record a guard verdict (idempotent on run, task, sink and time)."""

    # -- reads (raise StoreError when the store is unreachable) ------------------------

    @abstractmethod
    def tags_for(self, tables: Iterable[str]) -> list[Tag]:
        """Tags on the columns of ``tables`` (all sources), sorted."""

    @abstractmethod
    def edges(self, *, dag_id: str | None = None, run_id: str | None = None) -> list[Edge]:
        """Every edge, or the edges recorded by one DAG or run, sorted."""

    @abstractmethod
    def edges_into(self, tables: Iterable[str]) -> list[Edge]:
        """Edges whose target is a column (or the row set) of one of ``tables``."""

    @abstractmethod
    def upstream(self, ref: ColumnRef | str, depth: int = DEFAULT_DEPTH) -> list[Edge]:
        """Edges of the upstream closure of a column or table (text names a table), within ``depth`` hops."""

    @abstractmethod
    def downstream(self, ref: ColumnRef | str, depth: int = DEFAULT_DEPTH) -> list[Edge]:
        """Edges of the downstream closure of a column or table, within ``depth`` hops."""

    @abstractmethod
    def paths_into(
        self,
        sink_table: str,
        *,
        purposes: Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
        sources: Iterable[ColumnRef | str] | None = None,
        where: TagPredicate | None = None,
        tag_sources: Iterable[TagSource | str] = (TagSource.DECLARED, TagSource.DETECTED),
        depth: int = DEFAULT_DEPTH,
        max_paths: int = DEFAULT_MAX_PATHS,
    ) -> list[list[Edge]]:
        """Every path from a source column into a column (or the row set) of ``sink_table``.

        The guard's question. Sources are ``sources`` if given (columns, or whole tables),
        else the columns carrying a tag whose source is in ``tag_sources`` and whose purpose
        (category) equals or descends from one of ``purposes`` (``categories``), filtered by
        ``where``. A path is a list of edges from the source to the sink, at most ``depth``
        long, with no column visited twice; each edge carries its kind and subtype.

        Raises:
            StoreError: the store is unreachable, or more than ``max_paths`` paths exist
                (the guard must fail closed rather than judge a truncated answer).
        """

    @abstractmethod
    def runs_for(self, table: str) -> list[RunRecord]:
        """Runs that read or wrote ``table``, newest first."""

    @abstractmethod
    def verdicts_for(self, table: str | None = None, *, run_id: str | None = None) -> list[Verdict]:
        """Guard verdicts about sink ``table`` and/or from one run, newest first."""

    @abstractmethod
    def graph(
        self,
        *,
        dag_id: str | None = None,
        run_id: str | None = None,
        tables: Iterable[str] | None = None,
    ) -> GraphSnapshot:
        """Datasets, columns, edges, tags, runs and verdicts, optionally narrowed to a DAG, run or tables."""

    # -- alert claims (duplicate suppression of failed-run alerts) -------------------------

    supports_alert_claims: bool = False  # True where claim_alert/release_alert are implemented

    def claim_alert(self, key: Any) -> bool:
        """Claim the right to send one alert: True the first time ``key`` is claimed, then False.

        ``key`` has the attributes ``dag_id``, ``run_id``, ``sink``, ``fingerprint`` (a hash of
        the violation's rule and path metadata, never of data) and ``channel``, e.g.
        :class:`purpose_lineage.notifications.ledger.AlertKey`. Claims are shared by every
        process using the store, so a task retried on another worker does not alert twice.
        Claims older than :data:`ALERT_CLAIM_RETENTION_DAYS` are forgotten.

        Raises:
            StoreError: the store is unreachable (the caller sends anyway: a duplicate alert
                is better than a lost one). Never spooled.
        """
        raise NotImplementedError(f"{type(self).__name__} does not record alert claims")

    def release_alert(self, key: Any) -> None:
        """Forget a claim (its channel failed for good), so that a later try may send it."""
        raise NotImplementedError(f"{type(self).__name__} does not record alert claims")

    # -- housekeeping ---------------------------------------------------------------

    @abstractmethod
    def pending(self) -> int:
        """Number of spooled writes waiting for the store."""

    @abstractmethod
    def drain(self) -> int:
        """Replay spooled writes now; returns how many were applied. Never raises on a down store."""

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version of the store (raises StoreError when unreachable)."""

    def change_marker(self) -> int | None:
        """A number that changes with every write to the store (any process), for caches of reads.

        What a reader derives from the store after reading marker ``m`` may be kept until the
        marker differs from ``m``. None: this store cannot tell (cache nothing).
        """
        return None

    def reading(self) -> contextlib.AbstractContextManager[LineageStore]:
        """Several reads in one session (backends may hold one connection); default: no-op."""
        return contextlib.nullcontext(self)

    def session(self) -> contextlib.AbstractContextManager[LineageStore]:
        """A task's reads and its write in one session (one lock and connection); default: no-op.

        Writes inside keep their contract (applied, or spooled and replayed).
        """
        return contextlib.nullcontext(self)

    def attached_to(self, connection: Any) -> contextlib.AbstractContextManager[LineageStore]:
        """Sessions inside may use the caller's open warehouse ``connection``; default: no-op.

        The DuckDB backend attaches its file to a DuckDB connection's database instance
        rather than starting a database of its own (the largest fixed cost of a task's
        session). Results are the same either way.
        """
        return contextlib.nullcontext(self)

    def latest_writers(self, tables: Iterable[str]) -> dict[str, str | None]:
        """Per table, the id of the newest run that wrote it (None: no recorded run did).

        "Newest" is the order of :meth:`runs_for`; backends may answer in one query.
        """
        out: dict[str, str | None] = {}
        for table in tables:
            out[table] = next((r.run_id for r in self.runs_for(table) if table in r.outputs), None)
        return out

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> LineageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
