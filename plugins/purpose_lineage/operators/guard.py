"""Write, audit, publish: the guard between a staging table and the table users see.

The transform writes ``staging_table``. The guard then

1. asks the lineage store for the staging table's current upstream lineage and evaluates
   the policy on it (lineage level: join keys and filters count);
2. runs the sink's Great Expectations suite from ``expectations/`` inside the warehouse:
   the lineage findings, keyed fingerprints of security-only identifiers (data level),
   consent for discovery sinks;
3. publishes the staging table as ``target_table`` in one transaction, only if both pass.

On a violation it records the verdict, reports it to OpenLineage as a
``DataQualityAssertionsDatasetFacet`` (severity ``error``), sends alerts if channels are
configured, and raises ``AirflowFailException``: the run fails, the published table is
left as it was. It fails closed when it cannot judge: unknown lineage into the sink, an
unreachable store, a missing fingerprint secret or suite, or a GX error.

A worker killed at any step leaves the published table whole: the old one, or the new one
once the publish transaction committed. That transaction also writes this run's marker to
``pl_guard_publications``, so a retry that finds the staging table gone but the marker
naming its own run finishes the remaining bookkeeping and succeeds instead of failing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.sql.operators.sql import BaseSQLOperator

from purpose_lineage.operators.collaborators import PolicyAndStore
from purpose_lineage.operators.fault_points import fault_point
from purpose_lineage.operators.tracing import DEFAULT_SCHEMAS, SQLGLOT_DIALECTS

if TYPE_CHECKING:
    from airflow.sdk import Context

    from purpose_lineage.core.model import Violation

# the suite for a sink, by the data use it serves (longest prefix wins)
SUITES_BY_USE = {
    "marketing.advertising": "ad_audience",
    "functional.service.contact_discovery": "phone_lookup",
}
# one row per published table: the run (dag/run/task, the same for every try) that published it
PUBLICATIONS_TABLE = "pl_guard_publications"


@dataclasses.dataclass(frozen=True)
class GuardOutcome:
    """The guard's verdict. Metadata and counts only."""

    sink: str
    passed: bool
    violations: tuple[Violation, ...] = ()
    affected_count: int | None = None
    unknown_tables: tuple[str, ...] = ()
    suite: str | None = None
    data_docs: str | None = None
    reasons: tuple[str, ...] = ()


class PurposeGuardOperator(PolicyAndStore, BaseSQLOperator):
    """Audit ``staging_table`` against the policy and its sink's GX suite, then publish it.

    :param conn_id: the warehouse connection (common-sql: DuckDB or PostgreSQL).
    :param staging_table: the table the transform wrote.
    :param target_table: the published table; replaced atomically on success only.
    :param suite: GX suite name in ``expectations/``; default from the sink's data use.
    :param identifier_columns: staging columns that may hold identifiers (plain or hashed);
        default every text column.
    :param fingerprint_conn_id: connection whose password is the fingerprint key.
    :param consent_table: for discovery sinks, the table of opted-in identifier fingerprints.
    :param allow_unknown: judge paths through unresolved lineage as clean (default: fail closed).
    :param lineage_required: fail when no recorded run wrote the staging table (default). Set
        False for tables loaded outside Airflow: the data-level checks then judge alone.
    :param notifier: optional callable(context) run on failure before raising (e.g. alerts).
    """

    template_fields: Sequence[str] = ("conn_id", "staging_table", "target_table", "suite")
    ui_color = "#fee2e2"

    def __init__(
        self,
        *,
        conn_id: str,
        staging_table: str,
        target_table: str,
        suite: str | None = None,
        identifier_columns: Sequence[str] | None = None,
        fingerprint_conn_id: str | None = None,
        fingerprint_table: str = "pl_security_fingerprints",
        consent_table: str = "pl_consented_fingerprints",
        suites_dir: str | None = None,
        data_docs_dir: str | None = None,
        policy_file: str | None = None,
        store_url: str | None = None,
        allow_unknown: bool = False,
        lineage_required: bool = True,
        notifier: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        self.staging_table = staging_table
        self.target_table = target_table
        self.suite = suite
        self.identifier_columns = list(identifier_columns) if identifier_columns else None
        self.fingerprint_conn_id = fingerprint_conn_id
        self.fingerprint_table = fingerprint_table
        self.consent_table = consent_table
        self.suites_dir = suites_dir
        self.data_docs_dir = data_docs_dir
        self.policy_file = policy_file
        self.store_url = store_url
        self.allow_unknown = allow_unknown
        self.lineage_required = lineage_required
        self.notifier = notifier
        self.outcome: GuardOutcome | None = None

    @property
    def dialect(self) -> str:
        name = getattr(self.get_db_hook(), "dialect_name", "") or ""
        return SQLGLOT_DIALECTS.get(name, name)

    def _qualified(self, table: str) -> str:
        from purpose_lineage.core.model import normalize_table

        schema = DEFAULT_SCHEMAS.get(self.dialect)
        name = normalize_table(table)
        return name if "." in name or not schema else f"{schema}.{name}"

    # -- audit -------------------------------------------------------------------------

    def read_catalog(self, *tables: str) -> dict[str, list[tuple[str, str | None]]]:
        """Columns and types of ``tables`` (those that exist), in one read of the warehouse catalog."""
        from purpose_lineage.operators.sql import read_columns

        return read_columns(self.get_db_hook(), set(tables), DEFAULT_SCHEMAS.get(self.dialect))

    def check_lineage(
        self, staging: str, target: str, staging_columns: Sequence[tuple[str, str | None]]
    ) -> tuple[list[Violation], tuple[str, ...]]:
        """Violations into ``target`` if ``staging`` (with ``staging_columns``) were published as it stands.

        The publish step is not recorded yet, so its copy edges (and the staging table's row
        constraints, which a full copy keeps) are added here: sinks are declared by the
        published name (``phone_lookup``), not by the staging name.
        """
        from purpose_lineage.core.evaluate import find_violations
        from purpose_lineage.core.model import ColumnRef, Edge, Subtype
        from purpose_lineage.operators.current import current_lineage

        with self.store.reading():
            current = current_lineage(self.store, [staging])  # StoreError -> fail closed
        publish = [
            Edge(ColumnRef(staging, c), ColumnRef(target, c), Subtype.IDENTITY) for c, _ in staging_columns
        ]
        constraints = dict(current.constraints)
        constraints[target] = list(current.constraints.get(staging, []))
        violations = find_violations(
            current.tags,
            [*current.edges, *publish],
            self.policy,
            constraints=constraints,
            allow_unknown=self.allow_unknown,
        )
        return [v for v in violations if v.sink == target], current.unwritten

    def suite_for(self, target: str) -> str | None:
        if self.suite:
            return self.suite
        for sink in self.policy.sinks_for(target):
            for use, suite in sorted(SUITES_BY_USE.items(), key=lambda kv: -len(kv[0])):
                if self.policy.taxonomy.covers("data_use", use, sink.use):
                    return suite
        return None

    def fingerprint_secret(self) -> str | None:
        from airflow.sdk import BaseHook

        from purpose_lineage import config

        conn_id = self.fingerprint_conn_id or config.fingerprint_conn_id()
        try:
            return BaseHook.get_connection(conn_id).password or None
        except Exception:  # AirflowNotFoundException and friends: no secret, fail closed later
            self.log.warning("Fingerprint connection %r not found", conn_id)
            return None

    @staticmethod
    def text_columns(columns: Sequence[tuple[str, str | None]]) -> list[str]:
        """The columns whose type can hold an identifier, plain or hashed."""
        text = ("char", "text", "string", "varchar", "blob", "bytea")
        return [c for c, t in columns if t and any(k in t.lower() for k in text)]

    def record_findings(self, run_key: str, violations: Sequence[Violation]) -> None:
        """Write the lineage findings where the suite's lineage expectation reads them (metadata only)."""
        from purpose_lineage.core.report import render_path
        from purpose_lineage.gx.expectations import FINDINGS_TABLE

        hook = self.get_db_hook()
        mark = hook.placeholder
        hook.run(
            f"CREATE TABLE IF NOT EXISTS {FINDINGS_TABLE} (run_key VARCHAR, rule VARCHAR, "
            "source VARCHAR, purpose VARCHAR, sink VARCHAR, path VARCHAR)"
        )
        hook.run(f"DELETE FROM {FINDINGS_TABLE} WHERE run_key = {mark}", parameters=[run_key])
        rows = [
            (run_key, v.rule, f"{v.source}.{v.source_column}", v.purpose, v.sink, render_path(v))
            for v in violations
        ]
        if rows:
            hook.insert_rows(
                FINDINGS_TABLE, rows, target_fields=["run_key", "rule", "source", "purpose", "sink", "path"]
            )

    def run_data_checks(
        self,
        suite: str,
        staging: str,
        staging_columns: Sequence[tuple[str, str | None]],
        violations: list[Violation],
        run_key: str,
    ) -> Any:
        from purpose_lineage import config
        from purpose_lineage.gx.run import run_suite

        self.record_findings(run_key, violations)
        fault_point("guard.validating")
        hook = self.get_db_hook()
        params = {
            "run_key": run_key,
            "identifier_columns": self.identifier_columns or self.text_columns(staging_columns),
            "fingerprint_table": self.fingerprint_table,
            "consent_table": self.consent_table,
        }
        result = run_suite(
            suite,
            table=staging,
            connection=hook,
            params=params,
            secret=self.fingerprint_secret(),
            suites_dir=self.suites_dir or _default_suites_dir(),
            data_docs_dir=self.data_docs_dir or _default_data_docs_dir(),
            memory_limit=config.duckdb_memory_limit(),
            native_fingerprints=config.native_fingerprints(),
        )
        self.log.info(
            "Suite %s ran on %s with %s fingerprints: verdict in %.2f s, Data Docs in %.2f s",
            suite,
            staging,
            result.fingerprints,
            result.timings.get("check", 0.0),
            result.timings.get("data_docs", 0.0),
        )
        return result

    def count_reached(self, staging: str) -> int:
        """Rows of the staging table, when no data-level check counted identifiers.

        A join key or filter leaves no identifier in the sink, but every row it let through
        stands for one identifier used: the rows are the identifiers affected.
        """
        row = self.get_db_hook().get_first(f"SELECT COUNT(*) FROM {_quote(staging)}")
        return int(row[0]) if row else 0

    # -- execute -----------------------------------------------------------------------

    def execute(self, context: Context) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from purpose_lineage.core.report import render_text
        from purpose_lineage.errors import PolicyViolationError

        staging, target = self._qualified(self.staging_table), self._qualified(self.target_table)
        suite = self.suite_for(target)
        reasons: list[str] = []
        run_key = f"{context['ti'].dag_id}/{context['ti'].run_id}/{self.task_id}"
        try:
            catalog = self.read_catalog(staging, target)
            if staging not in catalog and target in catalog and self.published_by(run_key, target):
                return self.finish_earlier_publish(context, staging, target, suite, catalog[target])
            staging_columns = catalog.get(staging, [])
            violations, unwritten = self.check_lineage(staging, target, staging_columns)
            result = (
                self.run_data_checks(suite, staging, staging_columns, violations, run_key) if suite else None
            )
        except Exception as exc:  # store down, missing secret or suite, GX or warehouse error
            self._record(context, GuardOutcome(target, False, suite=suite, reasons=(str(exc),)))
            raise AirflowFailException(
                f"Purpose guard cannot judge {staging}, so it fails closed: {exc}"
            ) from exc
        if staging in unwritten and self.lineage_required:
            reasons.append(f"no recorded lineage for {staging}: write it with a purpose-lineage operator")
        affected = result.affected_count if result is not None else None
        if violations and not affected:
            affected = self.count_reached(staging)
        if result is not None and not result.passed:
            failing = [d.expectation for d in result.details if not d.success]
            reasons.append(f"data checks failed in suite {suite!r}: {', '.join(failing)}")
        outcome = GuardOutcome(
            sink=target,
            passed=not violations and not reasons,
            violations=tuple(violations),
            affected_count=affected,
            unknown_tables=unwritten,
            suite=suite,
            data_docs=result.data_docs_path if result is not None else None,
            reasons=tuple(reasons),
        )
        self._record(context, outcome)
        if not outcome.passed:
            paths = render_text(violations) if violations else ""
            message = (
                f"Purpose guard blocked publishing {target}: "
                + "; ".join([*(["forbidden purpose flow"] if violations else []), *reasons])
                + (f". Identifiers affected: {affected}" if affected is not None else "")
                + f". {target} was left unchanged.\n{paths}"
            )
            self.log.error("%s", message)
            if self.notifier is not None:
                try:
                    self.notifier(context)
                except Exception:  # alerts never hide the failure
                    self.log.warning("Guard notifier failed", exc_info=True)
            raise AirflowFailException(message) from PolicyViolationError(message, list(violations))
        fault_point("guard.judged")
        self.publish(staging, target, run_key, [c for c, _ in staging_columns])
        self.log.info("Published %s as %s after purpose checks passed", staging, target)
        fault_point("guard.done")
        return self.summary(outcome)

    def published_by(self, run_key: str, target: str) -> bool:
        """True when ``target``'s publish marker is this run's (asked only when staging is gone).

        A worker killed after the publish commit (before the task was marked done) leaves
        exactly that state; judging again is impossible (no staging table) and unnecessary.
        """
        hook = self.get_db_hook()
        try:
            row = hook.get_first(
                f"SELECT run_key FROM {PUBLICATIONS_TABLE} WHERE target = {hook.placeholder}",
                parameters=[target],
            )
        except Exception:  # no marker table yet: nothing was ever published through a marker
            return False
        return bool(row) and row[0] == run_key

    def finish_earlier_publish(
        self,
        context: Context,
        staging: str,
        target: str,
        suite: str | None,
        target_columns: Sequence[tuple[str, str | None]],
    ) -> dict:
        """Complete what an interrupted try left after its publish commit (idempotent steps only)."""
        self.log.info(
            "%s was already published by an earlier try of this run (staging %s is gone); "
            "recording the publish step and succeeding without judging again",
            target,
            staging,
        )
        outcome = GuardOutcome(
            sink=target, passed=True, suite=suite, reasons=("published by an earlier try of this run",)
        )
        self._record(context, outcome)
        self.record_publish(staging, target, [c for c, _ in target_columns])
        return self.summary(outcome)

    def publish(self, staging: str, target: str, run_key: str, columns: Sequence[str]) -> None:
        """Replace ``target`` with ``staging`` (whose columns are ``columns``) and mark it as this
        run's, in one transaction; then record the copy edges."""
        from contextlib import closing

        hook = self.get_db_hook()
        mark = hook.placeholder
        hook.run(f"CREATE TABLE IF NOT EXISTS {PUBLICATIONS_TABLE} (target VARCHAR, run_key VARCHAR)")
        rename = f"ALTER TABLE {_quote(staging)} RENAME TO {_quote_ident(target.split('.')[-1])}"
        mark_run = f"INSERT INTO {PUBLICATIONS_TABLE} VALUES ({mark}, {mark})"
        steps: list[tuple[str, list[str] | None, str | None]] = [
            ("BEGIN", None, None),
            (f"DROP TABLE IF EXISTS {_quote(target)}", None, "publish.dropped"),
            (rename, None, None),
            (f"DELETE FROM {PUBLICATIONS_TABLE} WHERE target = {mark}", [target], None),
            (mark_run, [target, run_key], "publish.renamed"),
            ("COMMIT", None, None),
        ]
        # one connection, statement by statement (as hook.run does), so that the crash tests
        # can stop a worker inside the transaction
        with closing(hook.get_conn()) as conn:
            if hook.supports_autocommit:
                hook.set_autocommit(conn, False)
            with closing(conn.cursor()) as cur:
                for sql, params, point in steps:
                    if params:
                        cur.execute(sql, params)
                    else:
                        cur.execute(sql)
                    if point:
                        fault_point(point)
            if not hook.get_autocommit(conn):
                conn.commit()
        fault_point("publish.committed")
        self.record_publish(staging, target, columns)

    def record_publish(self, staging: str, target: str, columns: Sequence[str]) -> None:
        """The publish step's copy edges in the store (a replay of the same edges changes nothing)."""
        from purpose_lineage.core.model import ColumnRef, Edge, Subtype
        from purpose_lineage.store.base import RunInfo

        run_id = self._run_id
        edges = [Edge(ColumnRef(staging, c), ColumnRef(target, c), Subtype.IDENTITY) for c in columns]
        self.store.record_lineage(
            RunInfo(run_id=run_id, job_name=self._job_name, dag_id=self._dag_id, task_id=self.task_id),
            edges=edges,
            inputs=[staging],
            outputs=[target],
        )

    # -- recording ---------------------------------------------------------------------

    def _record(self, context: Context, outcome: GuardOutcome) -> None:
        from purpose_lineage.store.base import Verdict

        ti = context["ti"]
        self._dag_id, self._run_id = ti.dag_id, f"{ti.dag_id}/{ti.run_id}/{ti.task_id}"
        self._job_name = f"{ti.dag_id}.{ti.task_id}"
        self.outcome = outcome
        verdict = Verdict.from_violations(
            outcome.violations,
            run_id=ti.run_id,
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            sink=outcome.sink,
            affected_count=outcome.affected_count,
        )
        if not outcome.passed and not outcome.violations:
            verdict = dataclasses.replace(verdict, passed=False)
        try:
            if not self._verdict_recorded(verdict):  # a retry of this run judging the same again
                self.store.record_verdict(verdict)
        except Exception:  # the run's failure stands on its own; the verdict is also in OL and logs
            self.log.warning("Could not record the guard verdict", exc_info=True)
        context["ti"].xcom_push(key="purpose_guard", value=self.summary(outcome))

    def _verdict_recorded(self, verdict: Any) -> bool:
        try:
            earlier = self.store.verdicts_for(verdict.sink, run_id=verdict.run_id)
        except Exception:  # store down: record (it spools); a duplicate row beats a lost verdict
            return False
        # a pass is a pass: a retry that finds the publish done has no count to compare
        same = ("task_id", "passed", "violations") + (() if verdict.passed else ("affected_count",))
        return any(all(getattr(e, f) == getattr(verdict, f) for f in same) for e in earlier)

    @staticmethod
    def summary(outcome: GuardOutcome) -> dict:
        from purpose_lineage.ol.facets import violation_to_dict

        return {
            "sink": outcome.sink,
            "passed": outcome.passed,
            "violations": [violation_to_dict(v) for v in outcome.violations],
            "affected_identifiers": outcome.affected_count,
            "suite": outcome.suite,
            "data_docs": outcome.data_docs,
            "reasons": list(outcome.reasons),
            "published_table_state": "replaced" if outcome.passed else "unchanged",
        }

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from purpose_lineage.operators.guard_openlineage import guard_lineage

        return guard_lineage(self)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self.get_openlineage_facets_on_complete(task_instance)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote(table: str) -> str:
    return ".".join(_quote_ident(p) for p in table.split("."))


def _default_suites_dir() -> str | None:
    from purpose_lineage import config

    return config.expectations_dir() or None


def _default_data_docs_dir() -> str:
    from purpose_lineage import config

    return str(config.data_docs_dir())
