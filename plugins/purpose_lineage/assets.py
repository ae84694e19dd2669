"""``duckdb://`` Assets: URI sanitising and conversion to OpenLineage datasets.

An Asset ``duckdb://warehouse/main/users_2fa`` names table ``main.users_2fa`` of the DuckDB
database ``warehouse``; it becomes the OpenLineage dataset ``main.users_2fa`` in namespace
``duckdb://warehouse``, the names the DuckDB operators use. Purpose tags may ride in
``extra["purpose_lineage"]["columns"]`` (see :func:`tags_from_asset`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

if TYPE_CHECKING:
    from purpose_lineage.core.model import Tag

EXTRA_KEY = "purpose_lineage"


def sanitize_uri(uri: SplitResult) -> SplitResult:
    if not uri.netloc:
        raise ValueError("URI format duckdb:// must name the database: duckdb://<database>/<schema>/<table>")
    parts = uri.path.split("/")
    if len(parts) == 2:  # duckdb://db/table: the default schema
        parts = ["", "main", parts[1]]
    if len(parts) != 3 or not parts[2]:
        raise ValueError("URI format duckdb:// must be duckdb://<database>/<schema>/<table>")
    return uri._replace(path="/".join(p.lower() for p in parts))


def table_of(uri: str) -> str:
    """``duckdb://warehouse/main/users_2fa`` -> ``main.users_2fa``."""
    parsed = sanitize_uri(urlsplit(uri))
    _, schema, table = parsed.path.split("/")
    return f"{schema}.{table}"


def create_asset(*, database: str, table: str, schema: str = "main", extra: dict | None = None) -> Any:
    from airflow.sdk import Asset

    return Asset(uri=f"duckdb://{database}/{schema}/{table}", extra=extra or {})


def convert_asset_to_openlineage(asset: Any, lineage_context: Any) -> Any:
    from openlineage.client.event_v2 import Dataset

    parsed = urlsplit(asset.uri)
    return Dataset(namespace=f"duckdb://{parsed.netloc}", name=table_of(asset.uri))


def tags_from_asset(asset: Any) -> list[Tag]:
    """Declared tags carried in an Asset's ``extra``::

    Asset("duckdb://warehouse/main/users_2fa", extra={"purpose_lineage": {"columns": {
        "phone_number": {"category": "user.contact.phone_number",
                         "purpose": "essential.service.security"}}}})
    """
    from purpose_lineage.core.model import ColumnRef, Tag, TagSource

    spec = (getattr(asset, "extra", None) or {}).get(EXTRA_KEY) or {}
    if not spec:
        return []
    table = table_of(asset.uri) if asset.uri.startswith("duckdb://") else spec.get("table", "")
    if not table:
        raise ValueError(f"asset {asset.uri!r} carries purpose tags but names no table")
    return [
        Tag(ColumnRef(table, column.lower()), info["category"], info["purpose"], TagSource.DECLARED)
        for column, info in (spec.get("columns") or {}).items()
    ]
