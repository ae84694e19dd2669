"""Warehouses the scan samples, chosen by URL scheme (``duckdb://``, ``postgresql://``).

A backend lists tables with their scannable columns and runs *one* query per table that
samples a bounded number of rows, applies the regex prefilters inside the warehouse and
returns per column: non-null count, prefilter match counts, and at most
``validate_limit`` matched values per class. Only those bounded lists leave the
warehouse, so scan time does not grow with table size.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from purpose_lineage.detect.model import ColumnSample
from purpose_lineage.errors import DetectionError

DEFAULT_SAMPLE_ROWS = 10_000
DEFAULT_VALIDATE_LIMIT = 100
SEED = 42
MAX_COLUMNS_PER_QUERY = 64

_TEXT_TYPES = re.compile(r"^(varchar|char|text|string|bpchar|character( varying)?|citext|name)\b", re.I)
_INT_TYPES = re.compile(r"^(bigint|integer|int|int4|int8|hugeint|ubigint|uinteger|uhugeint|int64)\b", re.I)
_DECIMAL0 = re.compile(r"^(decimal|numeric)(\(\s*\d+\s*(,\s*0\s*)?\))?$", re.I)


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    data_type: str

    @property
    def scannable(self) -> bool:
        """Text and integer-like columns: phones are also stored as BIGINT or NUMERIC(15,0)."""
        t = self.data_type.strip()
        return bool(_TEXT_TYPES.match(t) or _INT_TYPES.match(t) or _DECIMAL0.match(t))


@dataclass(frozen=True)
class TableInfo:
    schema: str
    name: str
    columns: tuple[ColumnInfo, ...]
    estimated_rows: int | None = None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


class Warehouse(Protocol):
    """What the scan needs from a database."""

    def tables(self) -> list[TableInfo]: ...

    def sample(self, table: TableInfo, *, rows: int, validate_limit: int) -> list[ColumnSample]: ...

    def close(self) -> None: ...


_BACKENDS: dict[str, Callable[[str], Warehouse]] = {}


def register_backend(*schemes: str) -> Callable[[Callable[[str], Warehouse]], Callable[[str], Warehouse]]:
    def deco(factory: Callable[[str], Warehouse]) -> Callable[[str], Warehouse]:
        for scheme in schemes:
            _BACKENDS[scheme] = factory
        return factory

    return deco


def open_warehouse(url: str) -> Warehouse:
    """Open the warehouse at ``url``: ``duckdb:///path.duckdb`` or ``postgresql://user@host/db``.

    >>> open_warehouse("mysql://x/y")
    Traceback (most recent call last):
    ...
    purpose_lineage.errors.DetectionError: unsupported database URL scheme 'mysql' (use duckdb:// or postgresql://)
    """
    _load_backends()
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower() if ":" in url else ""
    if not scheme and url.endswith((".duckdb", ".db")):
        scheme, url = "duckdb", f"duckdb:///{url}"
    factory = _BACKENDS.get(scheme)
    if factory is None:
        raise DetectionError(f"unsupported database URL scheme {scheme!r} (use duckdb:// or postgresql://)")
    return factory(url)


def select_tables(available: Sequence[TableInfo], wanted: Sequence[str] | None) -> list[TableInfo]:
    """The tables named in ``wanted`` (``table`` or ``schema.table``), or all of them.

    >>> t = [TableInfo("main", "users", ()), TableInfo("crm", "users", ()), TableInfo("main", "orders", ())]
    >>> [x.qualified for x in select_tables(t, ["orders", "crm.users"])]
    ['main.orders', 'crm.users']
    >>> select_tables(t, ["users"])
    Traceback (most recent call last):
    ...
    purpose_lineage.errors.DetectionError: table name 'users' is ambiguous: crm.users, main.users
    """
    if not wanted:
        return list(available)
    chosen: list[TableInfo] = []
    missing: list[str] = []
    for name in wanted:
        key = name.strip().strip('"').lower()
        hits = [t for t in available if key in (t.qualified.lower(), t.name.lower())]
        if len(hits) > 1:
            exact = [t for t in hits if t.qualified.lower() == key]
            if len(exact) != 1:
                names = ", ".join(sorted(t.qualified for t in hits))
                raise DetectionError(f"table name {name!r} is ambiguous: {names}")
            hits = exact
        if not hits:
            missing.append(name)
        elif hits[0] not in chosen:
            chosen.append(hits[0])
    if missing:
        raise DetectionError(f"no such table: {', '.join(missing)}")
    return chosen


@dataclass(frozen=True)
class DatabaseUrl:
    """The parts of a database URL (SQLAlchemy spelling, parsed without importing it)."""

    scheme: str
    database: str
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = None
    query: tuple[tuple[str, str], ...] = ()


def parse_url(url: str) -> DatabaseUrl:
    """Split ``scheme[+driver]://user:pass@host:port/database?k=v``.

    As in SQLAlchemy, ``duckdb:///rel.duckdb`` is relative and ``duckdb:////abs.duckdb`` absolute.

    >>> parse_url("duckdb:////tmp/w.duckdb").database
    '/tmp/w.duckdb'
    >>> u = parse_url("postgresql+psycopg2://ann:p%40ss@db.internal:5433/lake?sslmode=require")
    >>> (u.scheme, u.username, u.password, u.host, u.port, u.database, u.query)
    ('postgresql', 'ann', 'p@ss', 'db.internal', 5433, 'lake', (('sslmode', 'require'),))
    """
    from urllib.parse import parse_qsl, unquote, urlsplit

    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise DetectionError("invalid port in database URL") from None
    return DatabaseUrl(
        scheme=parts.scheme.split("+", 1)[0].lower(),
        database=unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path),
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        query=tuple(parse_qsl(parts.query)),
    )


def redact_url(url: str) -> str:
    """The URL with its password replaced, for messages and reports.

    >>> redact_url("postgresql://ann:secret@db/lake")
    'postgresql://ann:***@db/lake'
    """
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def quote_ident(name: str) -> str:
    """SQL identifier quoting shared by DuckDB and PostgreSQL.

    >>> quote_ident('we"ird')
    '"we""ird"'
    """
    return '"' + name.replace('"', '""') + '"'


def column_samples(
    table: TableInfo, columns: Sequence[ColumnInfo], row: Sequence, validate_limit: int
) -> list[ColumnSample]:
    """Unpack one aggregate row: ``rows`` then per column nonnull, phone, email, hex and 3 lists."""
    out: list[ColumnSample] = []
    rows = int(row[0] or 0)
    for i, col in enumerate(columns):
        nonnull, phone, email, hexes, pv, ev, hv = row[1 + 7 * i : 8 + 7 * i]
        out.append(
            ColumnSample(
                table=table.qualified,
                column=col.name,
                data_type=col.data_type,
                rows=rows,
                nonnull=int(nonnull or 0),
                phone=int(phone or 0),
                email=int(email or 0),
                hex=int(hexes or 0),
                phone_values=list(pv or [])[:validate_limit],
                email_values=list(ev or [])[:validate_limit],
                hex_values=list(hv or [])[:validate_limit],
            )
        )
    return out


def chunks(columns: Sequence[ColumnInfo], size: int = MAX_COLUMNS_PER_QUERY) -> list[Sequence[ColumnInfo]]:
    return [columns[i : i + size] for i in range(0, len(columns), size)]


def _load_backends() -> None:
    # imported for their @register_backend side effect; each imports its driver lazily
    from purpose_lineage.detect import duckdb_sampler, postgres_sampler  # noqa: F401
