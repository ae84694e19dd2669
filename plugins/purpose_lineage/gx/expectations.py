"""Data-level Great Expectations checks: security-only identifiers and consent.

Both are declarative :class:`UnexpectedRowsExpectation` subclasses. The SQL is
derived from their fields (``columns`` and a fingerprint table), runs entirely in
the warehouse as a join on 64-bit keyed fingerprints, and is counted, never
fetched: the only metric computed is the row count of the query, whose rows are
one per *distinct* affected identifier. No value, sample or list of values is
passed in or comes back, so neither results nor Data Docs can hold an identifier.

The fingerprint tables and the ``purpose_lineage_fp`` SQL function come from
:func:`purpose_lineage.gx.fingerprints.build_fingerprint_table`, and the session
must carry the secret (:func:`purpose_lineage.gx.fingerprints.attach_secret`);
:func:`purpose_lineage.gx.run.run_suite` does both checks before validating.

In a suite JSON, ``columns`` may be ``{"$PARAMETER": "name"}``; ``run_suite``
substitutes it. Until then the query is a parameter too, so an unsubstituted
expectation cannot run.
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.compatibility import pydantic
from great_expectations.core.suite_parameters import SuiteParameterDict
from great_expectations.expectations.core.unexpected_rows_expectation import UnexpectedRowsExpectation

from purpose_lineage.gx.fingerprints import (
    CONSENT_TABLE,
    DEFAULT_TABLE,
    fingerprint_sql,
    quote_ident,
    quote_table,
)

UNRESOLVED = "purpose_lineage_unresolved_columns"


def _is_parameter(value: Any) -> bool:
    return isinstance(value, dict) and "$PARAMETER" in value


def _sink_fingerprints(columns: list[str], table: str, native: bool) -> str:
    return " UNION ALL ".join(
        f"SELECT {fingerprint_sql(f'CAST(b.{quote_ident(c)} AS VARCHAR)', table, native)} AS fp "
        "FROM {batch} AS b"
        for c in columns
    )


def security_query(columns: list[str], fingerprint_table: str = DEFAULT_TABLE, native: bool = False) -> str:
    """One row per distinct security-only identity found in any of ``columns``.

    >>> print(security_query(["phone"], "fps"))  # doctest: +NORMALIZE_WHITESPACE
    SELECT DISTINCT f.identity FROM (SELECT purpose_lineage_fp(CAST(b."phone" AS VARCHAR)) AS fp
    FROM {batch} AS b) AS s JOIN "fps" AS f ON f.fp = s.fp
    """
    return (
        f"SELECT DISTINCT f.identity FROM ({_sink_fingerprints(columns, fingerprint_table, native)}) AS s "
        f"JOIN {quote_table(fingerprint_table)} AS f ON f.fp = s.fp"
    )


def consent_query(columns: list[str], consent_table: str = CONSENT_TABLE, native: bool = False) -> str:
    """One row per distinct sink identifier (fingerprint) that no opted-in identifier matches.

    >>> "LEFT JOIN" in consent_query(["phone"]) and "c.fp IS NULL" in consent_query(["phone"])
    True
    """
    return (
        f"SELECT DISTINCT s.fp FROM ({_sink_fingerprints(columns, consent_table, native)}) AS s "
        f"LEFT JOIN {quote_table(consent_table)} AS c ON c.fp = s.fp "
        "WHERE s.fp IS NOT NULL AND c.fp IS NULL"
    )


class _CountOnlyExpectation(UnexpectedRowsExpectation):
    """An UnexpectedRowsExpectation that never fetches the unexpected rows, only counts them."""

    columns: list[str] | SuiteParameterDict
    unexpected_rows_query: str | SuiteParameterDict = ""
    # set by run_suite when the DuckDB session loaded purpose_lineage.native
    native_fingerprints: bool = False

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.row_count",)
    _table_field: ClassVar[str] = ""
    _result_label: ClassVar[str] = "affected_identifiers"

    @classmethod
    def _build_query(cls, columns: list[str], table: str, native: bool) -> str:
        raise NotImplementedError

    @pydantic.root_validator(pre=True)
    def _derive_query(cls, values: dict[str, Any]) -> dict[str, Any]:
        columns = values.get("columns")
        table = values.get(cls._table_field) or cls.__fields__[cls._table_field].default
        if _is_parameter(columns) or _is_parameter(table):
            values["unexpected_rows_query"] = {"$PARAMETER": UNRESOLVED}
            return values
        if isinstance(columns, str):
            columns = [columns]
        if not columns or not all(isinstance(c, str) for c in columns):
            raise ValueError("columns must be a non-empty list of column names")
        values["columns"] = list(columns)
        # always derived from the fields: a query stored in a suite file is not trusted
        native = bool(values.get("native_fingerprints", False))
        values["unexpected_rows_query"] = cls._build_query(list(columns), table, native)
        return values

    def _validate(
        self, metrics: dict, runtime_configuration: dict | None = None, execution_engine: Any = None
    ) -> dict:
        count = int(metrics["unexpected_rows_query.row_count"])
        return {
            "success": count == 0,
            "result": {
                "observed_value": count,
                "details": {
                    self._result_label: count,
                    "columns": list(self.columns) if isinstance(self.columns, list) else self.columns,
                    self._table_field: getattr(self, self._table_field),
                },
            },
        }


class ExpectNoSecurityOnlyIdentifiers(_CountOnlyExpectation):
    """No value in the sink's identifier columns is a security-only phone number or email.

    Matches plain values in any common format and sha256/md5 hex uploads of the
    normalised value, through keyed fingerprints joined in the warehouse. The
    observed value is the number of distinct identifiers affected.

    Args:
        columns: the sink columns that may hold phone numbers or emails (plain or hashed).
        fingerprint_table: the security-only fingerprint table.
    """

    fingerprint_table: str | SuiteParameterDict = DEFAULT_TABLE
    description: str | None = (
        "No identifier in this table matches a phone number or email collected only for "
        "security or authentication (plain or sha256/md5-hashed)."
    )
    _table_field: ClassVar[str] = "fingerprint_table"
    _result_label: ClassVar[str] = "affected_identifiers"

    @classmethod
    def _build_query(cls, columns: list[str], table: str, native: bool) -> str:
        return security_query(columns, table, native)


class ExpectConsentedIdentifiersOnly(_CountOnlyExpectation):
    """Every identifier in a discovery/lookup sink belongs to a user who opted in.

    The consent table is a fingerprint table built from the opted-in identifiers;
    the observed value is the number of distinct sink identifiers without consent.

    Args:
        columns: the sink columns holding phone numbers or emails.
        consent_table: fingerprint table of opted-in identifiers.
    """

    consent_table: str | SuiteParameterDict = CONSENT_TABLE
    description: str | None = (
        "Every phone number or email in this table belongs to a user who opted in to being found by it."
    )
    _table_field: ClassVar[str] = "consent_table"
    _result_label: ClassVar[str] = "identifiers_without_consent"

    @classmethod
    def _build_query(cls, columns: list[str], table: str, native: bool) -> str:
        return consent_query(columns, table, native)


FINDINGS_TABLE = "pl_guard_findings"


def findings_query(run_key: str, findings_table: str = FINDINGS_TABLE) -> str:
    """The lineage findings the guard recorded for one run: metadata rows (rule, path), never values.

    >>> print(findings_query("dag/run'1/task"))
    SELECT rule, source, purpose, sink, path FROM "pl_guard_findings" WHERE run_key = 'dag/run''1/task'
    """
    key = run_key.replace("'", "''")
    return (
        f"SELECT rule, source, purpose, sink, path FROM {quote_table(findings_table)} WHERE run_key = '{key}'"
    )


class ExpectNoForbiddenPurposeFlows(UnexpectedRowsExpectation):
    """Lineage level: no column carrying a forbidden purpose reaches this sink, by any counted edge.

    The guard evaluates the policy on the lineage store's paths into the sink and records each
    offending path in ``findings_table`` under ``run_key``; this expectation fails on any of
    them, so lineage and data checks share one validation result and one Data Docs page.
    The unexpected rows are paths (source column and purpose, hops with edge kinds, sink column).

    Args:
        run_key: the guard run's key (DAG, run and task).
        findings_table: where the guard records findings.
    """

    run_key: str | SuiteParameterDict
    findings_table: str | SuiteParameterDict = FINDINGS_TABLE
    unexpected_rows_query: str | SuiteParameterDict = ""
    description: str | None = (
        "No column carrying a purpose the policy forbids for this sink reaches it, "
        "by copy, hash, join key, filter or any other edge the policy counts."
    )

    @pydantic.root_validator(pre=True)
    def _derive_query(cls, values: dict[str, Any]) -> dict[str, Any]:
        run_key = values.get("run_key")
        table = values.get("findings_table") or FINDINGS_TABLE
        if _is_parameter(run_key) or _is_parameter(table):
            values["unexpected_rows_query"] = {"$PARAMETER": UNRESOLVED}
            return values
        if not isinstance(run_key, str) or not run_key:
            raise ValueError("run_key must be the guard run's key")
        values["unexpected_rows_query"] = findings_query(run_key, table)
        return values
