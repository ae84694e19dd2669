"""Cached accessors for the ``[purpose_lineage]`` Airflow config section.

Core modules never read config: they take these values as arguments.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from purpose_lineage.get_provider_info import CONFIG_SECTION


def _get(key: str, fallback: str = "") -> str:
    from airflow.configuration import conf

    return conf.get(CONFIG_SECTION, key, fallback=fallback) or fallback


@functools.cache
def policy_file() -> str:
    return _get("policy_file")


@functools.cache
def store_url() -> str:
    """The lineage store URL: env var, then config, then a DuckDB file in AIRFLOW_HOME."""
    url = os.environ.get("PURPOSE_LINEAGE_STORE_URL") or _get("store_url")
    if url:
        return url
    conn_id = _get("store_conn_id")
    if conn_id:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(conn_id).get_uri()
    return f"duckdb:///{airflow_home() / 'purpose_lineage.duckdb'}"


@functools.cache
def spool_dir() -> Path:
    return Path(_get("spool_dir") or airflow_home() / "purpose_lineage_spool")


def api_key() -> str:
    """Key accepted by the HTTP API besides Airflow tokens: env PURPOSE_LINEAGE_API_KEY, then config.

    Not cached, so that a rotated key takes effect without a restart.
    """
    return os.environ.get("PURPOSE_LINEAGE_API_KEY") or _get("api_key")


@functools.cache
def spool_drain_interval() -> float:
    """Seconds between replays of spooled writes by the API server (0 disables)."""
    return float(_get("spool_drain_interval", "30") or 30)


@functools.cache
def fingerprint_conn_id() -> str:
    return _get("fingerprint_conn_id", "purpose_lineage_fingerprint")


@functools.cache
def expectations_dir() -> str:
    return _get("expectations_dir")


@functools.cache
def data_docs_dir() -> Path:
    return Path(_get("data_docs_dir") or airflow_home() / "purpose_lineage_data_docs")


@functools.cache
def duckdb_memory_limit() -> str:
    """Memory cap of the guard's DuckDB data-check connections; empty: DuckDB's default."""
    from airflow.configuration import conf

    from purpose_lineage.gx.run import DEFAULT_DUCKDB_MEMORY_LIMIT

    # not _get: an explicit empty value means "DuckDB's default", not "the fallback"
    return conf.get(CONFIG_SECTION, "duckdb_memory_limit", fallback=DEFAULT_DUCKDB_MEMORY_LIMIT)


@functools.cache
def native_fingerprints() -> str:
    """``auto``, ``off`` or ``required``: whether data checks compute fingerprints natively."""
    return _get("native_fingerprints", "auto").strip().lower()


@functools.cache
def ui_base_url() -> str:
    return _get("ui_base_url", "http://localhost:8080").rstrip("/")


@functools.cache
def data_docs_url() -> str:
    return _get("data_docs_url")


@functools.cache
def alert_channels() -> tuple[str, ...]:
    """Default alert channels: ``kind:conn_id`` items separated by commas."""
    return tuple(c.strip() for c in _get("alert_channels").split(",") if c.strip())


@functools.cache
def alert_ledger() -> str:
    return _get("alert_ledger", "auto")


@functools.cache
def alert_retry() -> dict[str, float]:
    """Per-channel retry settings of alerts: attempts, backoff, total and per-attempt seconds."""
    return {
        "max_attempts": int(_get("alert_max_attempts", "4")),
        "backoff_seconds": float(_get("alert_backoff_seconds", "1")),
        "max_seconds": float(_get("alert_max_seconds", "60")),
        "timeout_seconds": float(_get("alert_timeout_seconds", "10")),
    }


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
