"""What a failed-run alert says, built from lineage metadata only, and how it reads.

An :class:`Alert` names the DAG, run, task and time, the rule broken, every violating path
(source column and its purpose, the hops with their edge kinds, the sink column), the number
of distinct identifiers affected, the state the published table was left in, and links to
the run's lineage view and to the Data Docs. It is rendered as plain text, HTML (escaped),
Slack Block Kit and a webhook JSON document (schema: ``schemas/PurposeAlert.json``).

The alert never holds a data value: its fields are table, column and purpose names, counts
and links. Free text from elsewhere (an exception message) goes through
:func:`~purpose_lineage.notifications.scrub.scrub` when the alert is built.

This module is pure: no Airflow import, so the guard, the CLI and tests can use it anywhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from purpose_lineage.notifications.scrub import scrub

SCHEMA_ID = (
    "https://github.com/airflow-purpose-lineage/airflow-purpose-lineage/blob/main/"
    "docs/reference/schemas/PurposeAlert.json"
)
SCHEMA_VERSION = 1
LINEAGE_VIEW_PATH = "/purpose-lineage/ui/"
ROWS = "(rows)"  # a hop into a table's row set: a join key or filter deciding which rows exist
SINK_UNCHANGED = "unchanged"
SINK_NOT_ASSESSED = "not assessed"


class AlertKind(StrEnum):
    """Why the alert was raised."""

    VIOLATION = "purpose_violation"  # the guard found a forbidden flow
    GUARD_BLOCKED = "guard_blocked"  # the guard failed the run without a path (data checks, unknown lineage)
    TASK_FAILURE = "task_failure"  # a task of a guarded DAG failed for another reason


@dataclass(frozen=True)
class Step:
    """One node of a violating path and the edge that reached it (``None`` for the source)."""

    table: str
    column: str | None
    edge: str | None = None
    masked: bool = False

    @property
    def node(self) -> str:
        return f"{self.table}.{self.column}" if self.column is not None else f"{self.table} {ROWS}"


@dataclass(frozen=True)
class ViolationInfo:
    """A forbidden flow, as metadata: source column and purpose, path, sink column."""

    rule: str
    source: str
    source_column: str | None
    purpose: str
    category: str
    sink: str
    sink_column: str | None
    path: tuple[Step, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ViolationInfo:
        """From ``dataclasses.asdict(Violation)`` or the OpenLineage facet's camelCase dict."""

        def get(snake: str, camel: str | None = None) -> Any:
            return data.get(snake, data.get(camel) if camel else None)

        steps = []
        for hop in get("path") or ():
            hop = hop if isinstance(hop, Mapping) else vars(hop)
            edge = hop.get("edge")
            masked = bool(hop.get("masking") or hop.get("masked"))
            if edge and "(masked)" in str(edge):
                edge, masked = str(edge).replace("(masked)", "").strip(), True
            steps.append(Step(str(hop.get("table", "")), _opt(hop.get("column")), _opt(edge), masked))
        return cls(
            rule=str(get("rule") or "unnamed rule"),
            source=str(get("source") or ""),
            source_column=_opt(get("source_column", "sourceColumn")),
            purpose=str(get("purpose") or ""),
            category=str(get("category") or ""),
            sink=str(get("sink") or ""),
            sink_column=_opt(get("sink_column", "sinkColumn")),
            path=tuple(steps),
        )

    @classmethod
    def coerce(cls, value: ViolationInfo | Mapping[str, Any] | Any) -> ViolationInfo:
        """Accept a ViolationInfo, a dict, or a ``core.model.Violation`` (by its fields)."""
        if isinstance(value, ViolationInfo):
            return value
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        return cls.from_dict({f: getattr(value, f, None) for f in _VIOLATION_FIELDS})

    @property
    def steps(self) -> tuple[Step, ...]:
        """The path, always starting at the source and ending at the sink."""
        steps = list(self.path)
        if not steps or (steps[0].table, steps[0].column) != (self.source, self.source_column):
            steps.insert(0, Step(self.source, self.source_column))
        if (steps[-1].table, steps[-1].column) != (self.sink, self.sink_column):
            steps.append(Step(self.sink, self.sink_column, "?"))
        return tuple(steps)

    @property
    def edge_kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.edge for s in self.steps if s.edge))

    def path_text(self) -> str:
        """The path on one line: source column and purpose, then edge and node, up to the sink.

        >>> path = (Step("users_2fa", "phone_number"), Step("ads", "user_id", "INDIRECT/JOIN", True))
        >>> ViolationInfo("r", "users_2fa", "phone_number", "essential.service.security", "user.contact",
        ...     "ads", "user_id", path).path_text()
        'users_2fa.phone_number [essential.service.security] -> INDIRECT/JOIN (masked) -> ads.user_id'
        """
        first, *rest = self.steps
        parts = [f"{first.node} [{self.purpose}]"]
        for step in rest:
            parts.append(f"{step.edge or '?'}{' (masked)' if step.masked else ''}")
            parts.append(step.node)
        return " -> ".join(parts)

    def fingerprint(self) -> str:
        """A stable key of the rule and the path metadata (never of data), for duplicate suppression.

        Masking is left out: some sources (the OpenLineage facet) drop it, and the same path
        must give the same key whichever source reported it.

        >>> ViolationInfo("r", "a", "x", "p", "c", "b", "y").fingerprint()
        '35b8b33386ccb622'
        """
        doc = [
            self.rule,
            self.source,
            self.source_column,
            self.purpose,
            self.category,
            self.sink,
            self.sink_column,
            [[s.table, s.column, s.edge] for s in self.steps],
        ]
        return hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:16]

    def merged(self, other: ViolationInfo) -> ViolationInfo:
        """The same path, masked wherever either report says so."""
        if len(self.path) != len(other.path):
            return self
        steps = tuple(
            replace(a, masked=a.masked or b.masked) for a, b in zip(self.path, other.path, strict=True)
        )
        return replace(self, path=steps)


_VIOLATION_FIELDS = ("rule", "source", "source_column", "purpose", "category", "sink", "sink_column", "path")


def _opt(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True)
class Alert:
    """Everything an alert says. Build it with :func:`build_alert`."""

    kind: AlertKind
    dag_id: str
    run_id: str
    task_id: str | None
    failed_at: datetime
    violations: tuple[ViolationInfo, ...] = ()
    affected_count: int | None = None
    sink_state: str = SINK_NOT_ASSESSED
    sinks: tuple[str, ...] = ()
    try_number: int | None = None
    error_type: str | None = None
    error: str | None = None
    lineage_url: str | None = None
    data_docs_url: str | None = None
    log_url: str | None = None
    notes: tuple[str, ...] = field(default=())
    reasons: tuple[str, ...] = ()  # why the guard failed besides paths (scrubbed)
    test: bool = False  # a synthetic alert sent to check the channels: nothing failed

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.rule for v in self.violations))

    @property
    def severity(self) -> str:
        return "error" if self.kind is AlertKind.TASK_FAILURE else "critical"

    @property
    def title(self) -> str:
        prefix = "[TEST] " if self.test else ""
        sinks = ", ".join(self.sinks) or "a sink"
        if self.kind is AlertKind.VIOLATION:
            return f"{prefix}Purpose violation blocked: {sinks} ({self.dag_id})"
        if self.kind is AlertKind.GUARD_BLOCKED:
            return f"{prefix}Purpose guard blocked publishing {sinks} ({self.dag_id})"
        where = f"{self.dag_id}.{self.task_id}" if self.task_id else self.dag_id
        return f"{prefix}Task failed in a guarded DAG: {where} (no purpose violation recorded)"

    @property
    def dedup_key(self) -> str:
        """Same run and same violations (or same task failure) give the same key, whatever the try."""
        if self.kind is AlertKind.VIOLATION:
            doc: list[Any] = [
                self.dag_id,
                self.run_id,
                sorted({(v.sink, v.fingerprint()) for v in self.violations}),
            ]
        elif self.kind is AlertKind.GUARD_BLOCKED:
            doc = [self.dag_id, self.run_id, "guard_blocked", sorted(self.sinks), sorted(self.reasons)]
        else:
            doc = [self.dag_id, self.run_id, "task_failure", self.task_id, self.error_type, self.error]
        return hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:24]

    @property
    def ledger_sink(self) -> str:
        return f"task:{self.task_id or ''}" if self.kind is AlertKind.TASK_FAILURE else ",".join(self.sinks)

    def describe_affected(self) -> str:
        return f"{self.affected_count:,}" if self.affected_count is not None else "not measured"

    def describe_sink_state(self) -> str:
        target = ", ".join(self.sinks) or "published table"
        if self.sink_state == SINK_UNCHANGED:
            return f"{target}: unchanged (the audited data was not published)"
        return f"{target}: {self.sink_state}"


def lineage_url(ui_base_url: str, dag_id: str, run_id: str) -> str:
    """Link to the run's lineage view.

    >>> lineage_url("http://airflow:8080/", "ads", "manual__2026-01-02T00:00:00+00:00")
    'http://airflow:8080/purpose-lineage/ui/?dag_id=ads&run_id=manual__2026-01-02T00%3A00%3A00%2B00%3A00'
    """
    return f"{ui_base_url.rstrip('/')}{LINEAGE_VIEW_PATH}?{urlencode({'dag_id': dag_id, 'run_id': run_id})}"


def build_alert(
    *,
    dag_id: str,
    run_id: str,
    task_id: str | None = None,
    failed_at: datetime | None = None,
    violations: Iterable[ViolationInfo | Mapping[str, Any] | Any] = (),
    affected_count: int | None = None,
    sink_state: str | None = None,
    sinks: Iterable[str] = (),
    try_number: int | None = None,
    error: BaseException | str | None = None,
    ui_base_url: str | None = None,
    data_docs_url: str | None = None,
    log_url: str | None = None,
    notes: Iterable[str] = (),
    reasons: Iterable[str] = (),
    guard_failed: bool = False,
    test: bool = False,
) -> Alert:
    """Build an alert: a purpose violation (``violations`` given), a guard that blocked publishing
    without a path (``guard_failed``: data checks failed, lineage unknown, store down), or
    another task failure.

    ``error`` (an exception or text) and ``reasons`` are scrubbed. ``sink_state`` defaults to
    ``"unchanged"`` when the guard failed (write-audit-publish: a failed audit publishes
    nothing) and to ``"not assessed"`` for any other failure.

    >>> a = build_alert(dag_id="ads", run_id="r1", task_id="t", error="boom for +1 415 555 0100")
    >>> a.kind.value, a.error, a.sink_state
    ('task_failure', 'boom for [redacted phone]', 'not assessed')
    """
    found: dict[str, ViolationInfo] = {}
    for v in violations:
        info = ViolationInfo.coerce(v)
        key = info.fingerprint()
        found[key] = found[key].merged(info) if key in found else info
    infos = tuple(found.values())
    reasons = tuple(dict.fromkeys(scrub(r, max_chars=500) for r in reasons if r))
    if infos:
        kind = AlertKind.VIOLATION
    else:
        kind = AlertKind.GUARD_BLOCKED if guard_failed or reasons else AlertKind.TASK_FAILURE
    error_type = None
    message = None
    if isinstance(error, BaseException):
        error_type = type(error).__name__
        message = scrub(error) if str(error) else None
    elif error:
        message = scrub(error)
    sinks = tuple(dict.fromkeys([*sinks, *(v.sink for v in infos)]))
    if sink_state is None:
        sink_state = SINK_NOT_ASSESSED if kind is AlertKind.TASK_FAILURE else SINK_UNCHANGED
    when = failed_at or datetime.now(UTC)
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return Alert(
        kind=kind,
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        failed_at=when,
        violations=infos,
        affected_count=affected_count,
        sink_state=scrub(sink_state, max_chars=200),
        sinks=sinks,
        try_number=try_number,
        error_type=error_type,
        error=message,
        lineage_url=lineage_url(ui_base_url, dag_id, run_id) if ui_base_url else None,
        data_docs_url=data_docs_url or None,
        log_url=log_url or None,
        notes=tuple(scrub(n, max_chars=500) for n in notes),
        reasons=reasons,
        test=test,
    )


def latest_failed(verdicts: Iterable[Any], *, dag_id: str, task_id: str | None = None) -> list[Any]:
    """Of a run's verdicts, the latest per (task, sink), kept only if it failed.

    A sink that failed on the first try and passed on a retry is not a violation any more.
    ``task_id`` narrows to one task (a task-level callback); ``None`` keeps every task.
    """
    latest: dict[tuple[str, str], Any] = {}
    for v in verdicts:
        if v.dag_id != dag_id or (task_id and v.task_id != task_id):
            continue
        key = (v.task_id, v.sink)
        if key not in latest or v.checked_at > latest[key].checked_at:
            latest[key] = v
    return [v for v in latest.values() if not v.passed]


__all__ = ["Alert", "AlertKind", "Step", "ViolationInfo", "build_alert", "latest_failed", "lineage_url"]
