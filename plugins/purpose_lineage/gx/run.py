"""Run an expectation suite from ``expectations/`` against one warehouse table.

:func:`run_suite` is the whole API: it loads ``<suites_dir>/<suite>.json``,
substitutes ``{"$PARAMETER": name}`` values from ``params``, checks that every
fingerprint table the suite uses exists and was built with ``secret``, validates
the table inside the warehouse (DuckDB through
:mod:`purpose_lineage.gx.duckdb_datasource`, PostgreSQL through GX's stock
``postgres`` datasource), builds Data Docs for the validation into
``data_docs_dir``, and returns a :class:`SuiteResult` of counts.

It fails closed: a missing suite, a missing parameter, a missing or wrong
secret, a missing fingerprint table, an unsupported warehouse, or any exception
inside GX raises a :class:`~purpose_lineage.errors.DataCheckError` subclass with
a message that says what to fix, and never a value from the data. A suite that
ran and found violations is *not* an error: ``SuiteResult.passed`` is ``False``.

Nothing here touches the published table; the caller validates a staging table.
Connection strings stay in memory (an ephemeral GX context); only Data Docs are
written to disk.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from purpose_lineage.core.fingerprint import redact_identifiers
from purpose_lineage.errors import DataCheckError, PurposeLineageError, SuiteNotFoundError

log = logging.getLogger(__name__)

SUITES_DIR_ENV = "PURPOSE_LINEAGE_SUITES_DIR"
DOCS_SITE = "purpose_lineage"
# never any unexpected values, samples or index lists in results or Data Docs
RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
}
# DuckDB's default is 80% of RAM per process; a worker runs several tasks at once, and the
# data check's join spills to disk beyond the limit instead of growing (50M x 10M: 3.8 -> 2.1 GB)
DEFAULT_DUCKDB_MEMORY_LIMIT = "2GB"
_MEMORY_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
_TABLE_FIELDS = {
    "expect_no_security_only_identifiers": "fingerprint_table",
    "expect_consented_identifiers_only": "consent_table",
}


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict: counts and names only."""

    expectation: str
    success: bool
    observed_value: Any
    description: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SuiteResult:
    """Verdict of a suite on one table.

    ``affected_count`` sums the distinct identifiers reported by the failing
    data-level expectations (security-only matches, identifiers without consent).
    """

    suite: str
    table: str
    passed: bool
    affected_count: int
    details: tuple[ExpectationOutcome, ...]
    data_docs_path: str | None
    # how sink fingerprints were computed: "sql" or "native/<impl>" (avx512, sha-ni, portable)
    fingerprints: str = "sql"
    # seconds: "check" from the call to the verdict, then "data_docs" to build the report
    timings: dict[str, float] = field(default_factory=dict)


def default_suites_dir() -> Path:
    """``$PURPOSE_LINEAGE_SUITES_DIR``, else the project's top-level ``expectations/`` folder."""
    configured = os.environ.get(SUITES_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "expectations"


def load_suite_config(suite_name: str, suites_dir: str | Path | None = None) -> dict[str, Any]:
    """The suite's JSON as a dict; :class:`SuiteNotFoundError` if there is none."""
    directory = Path(suites_dir) if suites_dir is not None else default_suites_dir()
    if not suite_name or "/" in suite_name or "\\" in suite_name or suite_name.startswith("."):
        raise SuiteNotFoundError(f"invalid suite name {suite_name!r}")
    path = directory / f"{suite_name}.json"
    if not path.is_file():
        available = sorted(p.stem for p in directory.glob("*.json")) if directory.is_dir() else []
        raise SuiteNotFoundError(
            f"expectation suite {suite_name!r} not found in {directory} "
            f"(available: {', '.join(available) or 'none'}); add {path.name} or fix the sink's suite name"
        )
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataCheckError(f"expectation suite {path} is not valid JSON: {exc}") from None
    if not isinstance(config, dict) or not isinstance(config.get("expectations"), list):
        raise DataCheckError(f"expectation suite {path} has no 'expectations' list")
    return config


def substitute(value: Any, params: dict[str, Any], where: str) -> Any:
    """Replace ``{"$PARAMETER": name}`` (recursively) by ``params[name]``; a missing one is an error.

    >>> substitute({"columns": {"$PARAMETER": "cols"}}, {"cols": ["phone"]}, "x")
    {'columns': ['phone']}
    """
    if isinstance(value, dict):
        if set(value) == {"$PARAMETER"}:
            name = value["$PARAMETER"]
            if name not in params:
                raise DataCheckError(f"{where} needs parameter {name!r}; pass it in params")
            return params[name]
        return {k: substitute(v, params, where) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, params, where) for v in value]
    return value


def _warehouse_url(warehouse_url: str | None, connection: Any) -> str:
    if (warehouse_url is None) == (connection is None):
        raise DataCheckError("give exactly one of warehouse_url or connection")
    if warehouse_url is not None:
        return warehouse_url
    if isinstance(connection, sa.Engine):
        return connection.url.render_as_string(hide_password=False)
    if isinstance(connection, sa.URL):
        return connection.render_as_string(hide_password=False)
    if hasattr(connection, "get_uri"):  # an Airflow Connection, without importing Airflow
        return str(connection.get_uri())
    raise DataCheckError(f"unsupported connection object {type(connection).__name__}")


def limit_duckdb_memory(engine: sa.Engine, memory_limit: str | None) -> None:
    """Cap the memory of every DuckDB connection ``engine`` opens (``None`` or ``""``: DuckDB's default).

    Raises :class:`DataCheckError` for a size DuckDB would not understand.
    """
    if not memory_limit or engine.dialect.name != "duckdb":
        return
    if not _MEMORY_SIZE.match(memory_limit):
        raise DataCheckError(
            f"memory limit {memory_limit!r} is not a size such as '2GB' or '512MiB' "
            "(set [purpose_lineage] duckdb_memory_limit)"
        )
    statement = f"SET memory_limit = '{memory_limit.strip()}'"  # validated above: digits and a unit

    def set_limit(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()

    sa.event.listen(engine, "checkout", set_limit)


def _unavailable(mode: str, exc: BaseException) -> None:
    """``required``: fail closed; ``auto``: warn that the SQL functions will run."""
    reason = redact_identifiers(str(exc))[:500]
    if mode == "required":
        raise DataCheckError(
            f"native fingerprints are required but unavailable: {reason} "
            "(set [purpose_lineage] native_fingerprints = auto to fall back to SQL)"
        ) from None
    log.warning("native fingerprints unavailable, using the SQL functions (slower): %s", reason)


def _native_extension(mode: str, url: str) -> Path | None:
    """The built native fingerprint extension, or ``None`` (off, not DuckDB, or unavailable)."""
    from purpose_lineage import native

    if mode == "off" or sa.make_url(url).get_backend_name() != "duckdb":
        return None
    try:
        return native.extension_path()
    except native.NativeUnavailable as exc:  # no compiler, a failed build, an unsafe cache folder
        _unavailable(mode, exc)
        return None


def _dispose(datasource: Any) -> None:
    """Close every connection of a GX SQL datasource: its execution engine's and its own."""
    datasource.get_execution_engine().engine.dispose()
    datasource.get_engine().dispose()  # GX tests connections with an engine of its own


def _open_warehouse(context: Any, url: str, extension: Path | None, mode: str) -> tuple[Any, str]:
    """The GX datasource of the warehouse, and how it computes fingerprints (``native/...``, ``sql``).

    With ``extension``, the datasource's DuckDB connections may load it and do; if the file is
    already open in this process with other settings, or the load fails, ``auto`` falls back to
    a plain datasource.
    """
    from purpose_lineage.gx.fingerprints import attach_native

    if extension is None:
        return _add_datasource(context, url), "sql"
    datasource = None
    try:
        datasource = _add_datasource(context, url, native=True)
        engine = datasource.get_execution_engine().engine
        attach_native(engine, extension)
        with engine.connect() as connection:  # loads it: the probe
            implementation = connection.exec_driver_sql("SELECT purpose_lineage_fp_native_impl()").scalar()
        return datasource, f"native/{implementation}"
    except Exception as exc:  # GX wraps the driver's errors in its own
        if datasource is not None:
            _dispose(datasource)
            context.data_sources.delete(datasource.name)
        _unavailable(mode, exc)
    return _add_datasource(context, url), "sql"


def _add_datasource(context: Any, url: str, native: bool = False) -> Any:
    from purpose_lineage.native import duckdb_config

    scheme = sa.make_url(url).get_backend_name()
    name = f"warehouse_{uuid.uuid4().hex[:8]}"
    if scheme == "duckdb":
        # one pooled connection for the whole run (a DuckDB open, the extension load and the
        # session settings cost ~10 ms each time); run_suite disposes the engine at the end, so
        # the file is free for the next task
        kwargs: dict[str, Any] = {"poolclass": sa.pool.QueuePool, "pool_size": 1}
        if native:
            kwargs["connect_args"] = {"config": duckdb_config()}
        return context.data_sources.add_duckdb(name, connection_string=url, kwargs=kwargs)
    if scheme == "postgresql":
        if sa.make_url(url).drivername == "postgresql":
            url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
        return context.data_sources.add_postgres(name, connection_string=url)
    raise DataCheckError(f"data checks run on DuckDB or PostgreSQL warehouses, not {scheme!r}")


def _context(docs_dir: Path) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
    )

    site = {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        # a page per validation and the index; no suite pages: suites are the JSON files in
        # expectations/, and the validation page shows every expectation with its result
        "site_section_builders": {"expectations": "0", "profiling": "0"},
    }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        data_docs_sites={DOCS_SITE: site},
        progress_bars={"globally": False},
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _fingerprint_tables(expectations: list[dict[str, Any]]) -> set[str]:
    from purpose_lineage.gx.fingerprints import CONSENT_TABLE, DEFAULT_TABLE

    defaults = {"fingerprint_table": DEFAULT_TABLE, "consent_table": CONSENT_TABLE}
    tables = set()
    for expectation in expectations:
        table_field = _TABLE_FIELDS.get(expectation.get("type", ""))
        if table_field:
            tables.add(expectation.get("kwargs", {}).get(table_field) or defaults[table_field])
    return tables


def run_suite(
    suite_name: str,
    *,
    table: str,
    warehouse_url: str | None = None,
    connection: Any = None,
    params: dict[str, Any] | None = None,
    secret: str | bytes | None = None,
    suites_dir: str | Path | None = None,
    data_docs_dir: str | Path | None = None,
    memory_limit: str | None = DEFAULT_DUCKDB_MEMORY_LIMIT,
    native_fingerprints: str = "auto",
) -> SuiteResult:
    """Validate ``table`` against the suite ``suite_name``; see the module docstring.

    Args:
        suite_name: file stem in ``suites_dir`` (``ad_audience`` for ``ad_audience.json``).
        table: the (staging) table to validate, optionally ``schema.table``.
        warehouse_url: SQLAlchemy URL of the warehouse (``duckdb:///...``, ``postgresql://...``);
            or ``connection``: an Engine, URL, or anything with ``get_uri()``.
        params: values for the suite's ``$PARAMETER`` placeholders, e.g. ``identifier_columns``.
        secret: the fingerprint secret; required when the suite has fingerprint checks.
        suites_dir: where suites live (default :func:`default_suites_dir`).
        data_docs_dir: where Data Docs are built (default: a new temporary directory).
        memory_limit: DuckDB warehouses only: memory cap of the check's connections (DuckDB
            spills to disk beyond it); ``None`` keeps DuckDB's default of 80% of RAM.
        native_fingerprints: DuckDB warehouses only: ``auto`` computes sink fingerprints with
            :mod:`purpose_lineage.native` when it builds and loads, else in SQL; ``off``: always
            SQL; ``required``: fail when it is unavailable. Verdicts are the same either way.

    Raises:
        SuiteNotFoundError, FingerprintSecretError, DataCheckError: the check could not run.
    """
    from purpose_lineage.gx import register
    from purpose_lineage.gx.fingerprints import attach_secret, quote_table, verify
    from purpose_lineage.native import check_mode

    started = time.perf_counter()
    mode = check_mode(native_fingerprints)
    params = dict(params or {})
    config = load_suite_config(suite_name, suites_dir)
    raw = config["expectations"]
    if "run_key" not in params:  # a data-level run outside a guard: no lineage findings to read
        raw = [e for e in raw if e.get("type") != "expect_no_forbidden_purpose_flows"]
    expectations = substitute(raw, params, f"suite {suite_name!r}")
    url = _warehouse_url(warehouse_url, connection)
    quote_table(table)  # a plain (schema.)table name, or a clear error
    docs_dir = Path(data_docs_dir) if data_docs_dir is not None else Path(tempfile.mkdtemp(prefix="pl-docs-"))
    register()
    detach = None
    datasource = None
    try:
        tables = _fingerprint_tables(expectations)
        context = _context(docs_dir)
        extension = _native_extension(mode, url) if tables else None
        datasource, fingerprints = _open_warehouse(context, url, extension, mode)
        engine = datasource.get_execution_engine().engine
        limit_duckdb_memory(engine, memory_limit)
        native = fingerprints != "sql"
        if native:
            expectations = [_with_native(e) for e in expectations]
        if tables:
            detach = attach_secret(engine, secret)
            for fingerprint_table in sorted(tables):
                verify(engine, secret, fingerprint_table, native=native)
        result = _validate(context, datasource, suite_name, config, expectations, table, started)
        return dataclasses.replace(result, fingerprints=fingerprints)
    except PurposeLineageError:
        raise
    except Exception as exc:  # GX, SQLAlchemy, driver: fail closed, never echo data
        log.debug("suite %s failed with %s", suite_name, type(exc).__name__)
        raise DataCheckError(
            f"suite {suite_name!r} on {table} could not run ({type(exc).__name__}: "
            f"{redact_identifiers(str(exc))[:500]})"
        ) from None
    finally:
        if detach is not None:
            detach()
        # DuckDB allows one configuration per file and process: free the file for the next task
        # (dag.test() runs every task in one process)
        if datasource is not None:
            _dispose(datasource)


def _with_native(expectation: dict[str, Any]) -> dict[str, Any]:
    """A data-level expectation that calls the native fingerprint function; others unchanged."""
    if expectation.get("type") not in _TABLE_FIELDS:
        return expectation
    return {**expectation, "kwargs": {**expectation.get("kwargs", {}), "native_fingerprints": True}}


def _raised(info: Any) -> str | None:
    """The exception message in a GX ``exception_info``, flat or keyed by metric; else ``None``."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "unknown error")
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "unknown error")
    return None


def _validate(
    context: Any,
    datasource: Any,
    suite_name: str,
    config: dict[str, Any],
    expectations: list[dict[str, Any]],
    table: str,
    started: float,
) -> SuiteResult:
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    schema_name, _, table_name = table.rpartition(".")
    extra = {"schema_name": schema_name} if schema_name else {}
    asset = datasource.add_table_asset(table_name, table_name=table_name, **extra)
    batch_definition = asset.add_batch_definition_whole_table("whole_table")
    try:
        domain = [
            ExpectationConfiguration(
                type=e["type"], kwargs=e.get("kwargs", {}), meta=e.get("meta")
            ).to_domain_obj()
            for e in expectations
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise DataCheckError(f"suite {suite_name!r} has an invalid expectation: {exc}") from None
    suite = context.suites.add(
        ExpectationSuite(name=suite_name, expectations=domain, meta=config.get("meta"))
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite_name}:{table}", data=batch_definition, suite=suite)
    )
    # Data Docs are built below, as GX's UpdateDataDocsAction would, so the verdict is timed apart
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"purpose_lineage:{suite_name}",
            validation_definitions=[definition],
            actions=[],
            result_format=RESULT_FORMAT,
        )
    )
    result = checkpoint.run()
    ((identifier, validation),) = result.run_results.items()
    outcomes = []
    for item in validation.results:
        message = _raised(item.exception_info)
        res = item.result or {}
        if message is None and item.expectation_config.type in _TABLE_FIELDS:
            if not isinstance(res.get("observed_value"), int):
                message = "no count was computed"
        if message is not None:
            raise DataCheckError(
                f"expectation {item.expectation_config.type} in suite {suite_name!r} could not run: "
                f"{redact_identifiers(message)[:500]}"
            )
        outcomes.append(
            ExpectationOutcome(
                expectation=item.expectation_config.type,
                success=bool(item.success),
                observed_value=res.get("observed_value"),
                description=item.expectation_config.description,
                details=dict(res.get("details") or {}),
            )
        )
    affected = sum(
        int(o.observed_value or 0) for o in outcomes if o.expectation in _TABLE_FIELDS and not o.success
    )
    verdict = time.perf_counter()
    context.build_data_docs(
        site_names=[DOCS_SITE],
        resource_identifiers=[identifier, ExpectationSuiteIdentifier(name=suite_name)],
    )
    timings = {"check": verdict - started, "data_docs": time.perf_counter() - verdict}
    urls = context.get_docs_sites_urls(resource_identifier=identifier, site_name=DOCS_SITE)
    docs = urls[0]["site_url"] if urls else None
    path = docs[len("file://") :] if docs and docs.startswith("file://") else docs
    log.info(
        "suite %s on %s: %s, %d identifiers affected",
        suite_name,
        table,
        "passed" if validation.success else "FAILED",
        affected,
    )
    return SuiteResult(
        suite_name, table, bool(validation.success), affected, tuple(outcomes), path, timings=timings
    )
