"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from purpose_lineage import __version__

CONFIG_SECTION = "purpose_lineage"


def _option(description: str, default: str | None, example: str | None = None, type_: str = "string") -> dict:
    return {
        "description": description,
        "version_added": "0.1.0",
        "type": type_,
        "example": example,
        "default": default,
    }


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-purpose-lineage",
        "name": "Purpose Lineage",
        "description": "Purpose limitation for analytics pipelines: column lineage with indirect edges, "
        "fideslang purposes, Great Expectations guards and alerts.",
        "versions": [__version__],
        "config": {
            CONFIG_SECTION: {
                "description": "Settings of airflow-purpose-lineage.",
                "options": {
                    "policy_file": _option(
                        "Path of the purpose policy (YAML). Empty means the policy shipped in the package.",
                        "",
                        "/opt/airflow/policy.yaml",
                    ),
                    "store_url": _option(
                        "Lineage store URL: duckdb:///path/lineage.duckdb or postgresql://host/db. "
                        "Empty means a DuckDB file in AIRFLOW_HOME. "
                        "The env var PURPOSE_LINEAGE_STORE_URL overrides it.",
                        "",
                        "postgresql://airflow@127.0.0.1:5432/lineage",
                    ),
                    "store_conn_id": _option(
                        "Airflow connection whose URI is the lineage store. Used when store_url is empty.",
                        "",
                        "purpose_lineage_store",
                    ),
                    "spool_dir": _option(
                        "Local folder where store writes wait while the store is unreachable.",
                        "",
                        "/var/spool/purpose_lineage",
                    ),
                    "api_key": {
                        **_option(
                            "Key that producers send to POST /api/v1/lineage (header X-API-Key, or "
                            "Authorization: Bearer, as the OpenLineage HTTP transport's api_key auth does). "
                            "Airflow tokens are accepted too. Empty means Airflow tokens only. "
                            "The env var PURPOSE_LINEAGE_API_KEY overrides it.",
                            "",
                        ),
                        "sensitive": True,
                    },
                    "spool_drain_interval": _option(
                        "Seconds between replays of spooled store writes by the API server; 0 disables.",
                        "30",
                        type_="float",
                    ),
                    "fingerprint_conn_id": _option(
                        "Airflow connection whose password is the HMAC key of identifier fingerprints.",
                        "purpose_lineage_fingerprint",
                    ),
                    "expectations_dir": _option(
                        "Folder holding the Great Expectations suites (JSON). Empty means the project's "
                        "expectations/ folder next to the dags folder.",
                        "",
                    ),
                    "data_docs_dir": _option(
                        "Folder where the guard builds Great Expectations Data Docs. "
                        "Empty means purpose_lineage_data_docs in AIRFLOW_HOME.",
                        "",
                    ),
                    "duckdb_memory_limit": _option(
                        "Memory cap of the DuckDB connections a guard's data checks open (DuckDB spills "
                        "to temporary files beyond it). Empty keeps DuckDB's default, 80% of RAM per task.",
                        "2GB",
                    ),
                    "native_fingerprints": _option(
                        "How DuckDB data checks compute sink fingerprints: auto (a small native DuckDB "
                        "extension compiled on first use with the system C compiler, else SQL), off "
                        "(always SQL), required (fail the check when the extension is unavailable).",
                        "auto",
                    ),
                    "ui_base_url": _option(
                        "Public base URL of the Airflow UI, used in alert links.",
                        "http://localhost:8080",
                    ),
                    "data_docs_url": _option(
                        "URL of the Great Expectations Data Docs site, linked from alerts. Empty: no link "
                        "(unless the guard's XCom summary carries one).",
                        "",
                        "https://docs.example.com/gx/index.html",
                    ),
                    "alert_channels": _option(
                        "Default channels of PurposeAlertNotifier when it is given none: comma-separated "
                        "kind:conn_id items, kind in slack, email, webhook.",
                        "",
                        "slack:purpose_alerts_slack,email:smtp_default,webhook:siem",
                    ),
                    "alert_ledger": _option(
                        "Where sent alerts are remembered to suppress duplicates: auto (the lineage store if "
                        "it supports claims, else a SQLite file in spool_dir), store, sqlite, "
                        "sqlite:///path, or none.",
                        "auto",
                    ),
                    "alert_max_attempts": _option(
                        "Attempts per alert channel before giving up.", "4", type_="integer"
                    ),
                    "alert_backoff_seconds": _option(
                        "First wait between attempts of an alert channel; doubles each time (at most 30 s).",
                        "1",
                        type_="float",
                    ),
                    "alert_max_seconds": _option(
                        "Most seconds an alert channel keeps retrying.", "60", type_="float"
                    ),
                    "alert_timeout_seconds": _option(
                        "Timeout of one attempt (connect and send) of an alert channel.", "10", type_="float"
                    ),
                },
            }
        },
        "connection-types": [
            {"hook-class-name": "purpose_lineage.hooks.duckdb.DuckDBHook", "connection-type": "duckdb"}
        ],
        "asset-uris": [
            {
                "schemes": ["duckdb"],
                "handler": "purpose_lineage.assets.sanitize_uri",
                "factory": "purpose_lineage.assets.create_asset",
                "to_openlineage_converter": "purpose_lineage.assets.convert_asset_to_openlineage",
            }
        ],
        "notifications": ["purpose_lineage.notifications.alert.PurposeAlertNotifier"],
    }
