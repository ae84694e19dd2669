"""Build and refresh a fingerprint table in the warehouse (DuckDB or PostgreSQL).

The table holds keyed 64-bit fingerprints (see :mod:`purpose_lineage.core.fingerprint`)
of identifiers, never the identifiers:

=========  ========  ==========================================================
column     type      meaning
=========  ========  ==========================================================
fp         BIGINT    fingerprint of one match key (a sink rendering)
identity   BIGINT    fingerprint of the canonical identifier (E.164 / email)
kind       VARCHAR   ``phone`` or ``email``
form       VARCHAR   ``plain``, ``national``, ``trunk``, ``sha256`` or ``md5``
=========  ========  ==========================================================

plus ``<table>_meta`` (one row: the key check, counts, build time) and three SQL
functions next to the table: ``purpose_lineage_sink_key(v)``,
``purpose_lineage_hmac64(text)`` and ``purpose_lineage_fp(v)``, the warehouse
twins of :func:`~purpose_lineage.core.fingerprint.sink_key` and
:func:`~purpose_lineage.core.fingerprint.fingerprint`. Checks call
``purpose_lineage_fp`` on sink columns and join on ``fp``.

Where the work happens:

* Everything set-shaped runs in the warehouse: reading the sources, the strict
  E.164 and email fast paths, the match keys (digits, national number, trunk
  prefix, sha256/md5 hex), the HMACs, the consent anti-join and the atomic swap.
* Phone numbers that are not already strict E.164 (``(555) 010-1234``,
  ``020 7946 0958``) need ``phonenumbers`` and a default region: they are read
  into Python in batches, normalised, fingerprinted there, and only their
  fingerprints go back, so no plain identifier is ever written.

The secret never appears in SQL text: :func:`attach_secret` installs the HMAC
pads as session state on every connection checkout (DuckDB ``SET VARIABLE``,
PostgreSQL ``set_config``), passed as bound parameters. The SQL functions raise
when that state is missing, so a check without a secret fails instead of
silently matching nothing.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from purpose_lineage.core.fingerprint import (
    IdentifierKind,
    country_prefixes,
    fingerprint,
    fingerprints_of,
    hmac_pads,
    key_check,
    normalize_phone,
    require_secret,
    sink_fingerprint,
)
from purpose_lineage.errors import DataCheckError, FingerprintSecretError
from purpose_lineage.native import FUNCTION as NATIVE_FUNCTION
from purpose_lineage.native import load as load_native

log = logging.getLogger(__name__)

DEFAULT_TABLE = "pl_security_fingerprints"
CONSENT_TABLE = "pl_consented_fingerprints"
FP_FUNCTION = "purpose_lineage_fp"
FORMAT_VERSION = "1"
E164_STRICT = r"\+[1-9][0-9]{6,14}"
EMAIL_SHAPE = r"[^@\s]+@[^@\s]+"
PYTHON_BATCH = 10_000

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WS = "' ' || chr(9) || chr(13) || chr(10)"
# synthetic values only: proves the warehouse functions agree with core.fingerprint
_SELF_TEST_VALUES = (
    "+1 (555) 010-0000",
    " Self.Test@Example.INVALID ",
    "0044 20 7946 0000",
    "D41D8CD98F00B204E9800998ECF8427E",
    # two SHA-256 blocks inside the HMAC, and a non-ASCII email the native function leaves to SQL
    "\t7E9BD0B28F1E64FF3B2E95A2C4D9AA2B8A4F0E1C1A5D7E0F3B6C9D2E5F8A1B4C ",
    "\u00dcber.Self.Test@Example.INVALID",
)
_HEX_SQL = "'[0-9a-fA-F]{{32}}|[0-9a-fA-F]{{64}}'"
# digits only, minus a leading "00" international prefix, in one regex pass
_DIGITS = "nullif(regexp_replace(v, '^[^0-9]*0[^0-9]*0|[^0-9]+', '', 'g'), '')"
_TRIMMED_DUCKDB = f"CASE WHEN regexp_matches(v, '^[ \\t\\r\\n]|[ \\t\\r\\n]$') THEN trim(v, {_WS}) ELSE v END"
# DuckDB expands nullif(x, '') to a CASE that evaluates x twice, and the global regex replace
# is most of a sink key's cost: test "no digits, or only 00" with a cheap full match instead
_DIGITS_DUCKDB = (
    "CASE WHEN regexp_full_match(v, '[^0-9]*(0[^0-9]*0)?[^0-9]*') THEN NULL "
    "ELSE regexp_replace(v, '^[^0-9]*0[^0-9]*0|[^0-9]+', '', 'g') END"
)


@dataclass(frozen=True)
class IdentifierSource:
    """Where identifiers come from: a table name or a ``SELECT``, and the column to read.

    ``user_column`` names the owner; with it, a consent exclusion removes an
    identifier only for the same user.
    """

    query: str
    column: str
    kind: IdentifierKind | str
    user_column: str | None = None


@dataclass(frozen=True)
class BuildReport:
    """Counts of one build; never any identifier."""

    table: str
    identities: int
    fingerprints: int
    excluded: int
    rejected: int
    normalised_in_python: int
    seconds: float


def quote_ident(name: str) -> str:
    """Double-quoted identifier; only plain names are accepted.

    >>> quote_ident("users_2fa")
    '"users_2fa"'
    """
    if not _IDENT.fullmatch(name):
        raise DataCheckError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


def quote_table(name: str) -> str:
    """Quoted, optionally schema-qualified table name.

    >>> quote_table("sec.fps")
    '"sec"."fps"'
    """
    return ".".join(quote_ident(part) for part in name.split("."))


def _schema_prefix(table: str) -> str:
    parts = table.split(".")
    return "".join(quote_ident(p) + "." for p in parts[:-1])


def function_name(table: str, name: str = FP_FUNCTION) -> str:
    """The SQL function living next to ``table``.

    >>> function_name("sec.fps")
    '"sec".purpose_lineage_fp'
    """
    return _schema_prefix(table) + name


def fingerprint_sql(value: str, table: str, native: bool = False) -> str:
    """SQL for the fingerprint of the sink value ``value`` (an SQL expression of type text).

    ``native``: a DuckDB session that loaded :mod:`purpose_lineage.native` computes it there,
    and the SQL function only for the values the native one leaves (NULL: non-ASCII text).

    >>> fingerprint_sql("v", "sec.fps")
    '"sec".purpose_lineage_fp(v)'
    >>> fingerprint_sql("v", "fps", native=True)  # doctest: +NORMALIZE_WHITESPACE
    "coalesce(purpose_lineage_fp_native(v, getvariable('purpose_lineage_fp_ipad'),
    getvariable('purpose_lineage_fp_opad')), purpose_lineage_fp(v))"
    """
    fn = function_name(table)
    if not native:
        return f"{fn}({value})"
    pads = ", ".join(f"getvariable('purpose_lineage_fp_{pad}')" for pad in ("ipad", "opad"))
    return f"coalesce({NATIVE_FUNCTION}({value}, {pads}), {fn}({value}))"


_NATIVE_LOADED = "purpose_lineage_native_extension"


def attach_native(engine: sa.Engine, extension: Any) -> Callable[[], None]:
    """Load the native extension into every connection ``engine`` checks out; returns a detach function.

    The engine must open DuckDB with :func:`purpose_lineage.native.duckdb_config`.
    """

    def load(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # pooled connections keep what they loaded: once per DBAPI connection, not per checkout
        if record.info.get(_NATIVE_LOADED) != str(extension):
            load_native(dbapi_connection, extension)
            record.info[_NATIVE_LOADED] = str(extension)

    event.listen(engine, "checkout", load)

    def detach() -> None:
        if event.contains(engine, "checkout", load):
            event.remove(engine, "checkout", load)

    return detach


def _dialect(bind: sa.Engine | sa.Connection) -> str:
    name = bind.dialect.name
    if name not in ("duckdb", "postgresql"):
        raise DataCheckError(f"fingerprints support DuckDB and PostgreSQL, not {name}")
    return name


def _source_select(source: IdentifierSource) -> str:
    query = source.query.strip().rstrip(";")
    if re.match(r"(?is)^\s*(select|with)\b", query):
        return f"({query}) AS src"
    return f"{quote_table(query)} AS src"


# --- SQL functions -----------------------------------------------------------------------------


def function_ddl(dialect: str, table: str) -> list[str]:
    """``CREATE OR REPLACE`` statements of the three fingerprint functions for ``table``'s schema."""
    schema = _schema_prefix(table)
    if dialect == "duckdb":
        # the cast keeps DuckDB from folding an unset variable to NULL (and so the HMAC to NULL,
        # which would match nothing) before error() runs
        var = (
            "coalesce(getvariable('purpose_lineage_fp_{0}'), "
            "error('purpose-lineage: fingerprint secret not set in this session'))::BLOB"
        )
        inner = f"sha256({var.format('ipad')} || encode(c))"
        return [
            # nested WHENs: CASE evaluates a branch only for its rows, so the hex regex runs only on
            # values long enough to be a digest. DuckDB's trim() with a character set costs more
            # than the regex: it runs only on values that start or end with white space.
            f"CREATE OR REPLACE MACRO {schema}purpose_lineage_sink_key(v) AS CASE "
            f"WHEN contains(v, '@') THEN lower({_TRIMMED_DUCKDB}) "
            f"WHEN length(v) >= 32 AND regexp_full_match(v, {_HEX_SQL.format()}) THEN lower(v) "
            f"WHEN length(v) >= 32 AND regexp_full_match(trim(v, {_WS}), {_HEX_SQL.format()}) "
            f"THEN lower(trim(v, {_WS})) ELSE {_DIGITS_DUCKDB} END",
            f"CREATE OR REPLACE MACRO {schema}purpose_lineage_hmac64(c) AS "
            f"(('0x' || left(sha256({var.format('opad')} || unhex({inner})), 16))"
            "::UBIGINT::HUGEINT - 9223372036854775808)::BIGINT",
            f"CREATE OR REPLACE MACRO {schema}{FP_FUNCTION}(v) AS "
            f"{schema}purpose_lineage_hmac64({schema}purpose_lineage_sink_key(v))",
        ]
    # unset -> current_setting raises; reset to '' -> the cast raises with a message that says why
    setting = "current_setting('purpose_lineage.fp_{0}')"
    pad = (
        f"CASE WHEN length({setting}) = 128 THEN decode({setting}, 'hex') "
        "ELSE decode(CAST(('purpose-lineage: fingerprint secret not set in this session' || "
        f"{setting}) AS integer)::text, 'hex') END"
    )
    return [
        f"CREATE OR REPLACE FUNCTION {schema}purpose_lineage_sink_key(v text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CASE "
        f"WHEN strpos(v, '@') > 0 OR btrim(v, {_WS}) ~ '^([0-9a-fA-F]{{32}}|[0-9a-fA-F]{{64}})$' "
        f"THEN lower(btrim(v, {_WS})) "
        f"ELSE {_DIGITS} END $$",
        f"CREATE OR REPLACE FUNCTION {schema}purpose_lineage_hmac64(c text) RETURNS bigint "
        "LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT (('x' || left(encode(sha256("
        f"{pad.format('opad')} || sha256({pad.format('ipad')} || convert_to(c, 'UTF8'))), 'hex'), 16))"
        "::bit(64)::bigint # (-9223372036854775808)::bigint) $$",
        f"CREATE OR REPLACE FUNCTION {schema}{FP_FUNCTION}(v text) RETURNS bigint "
        f"LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT {schema}purpose_lineage_hmac64("
        f"{schema}purpose_lineage_sink_key(v)) $$",
    ]


def install_functions(bind: sa.Engine | sa.Connection, table: str = DEFAULT_TABLE) -> None:
    """Create (or replace) the fingerprint SQL functions in ``table``'s schema."""
    statements = function_ddl(_dialect(bind), table)
    if isinstance(bind, sa.Engine):
        with bind.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    else:
        for statement in statements:
            bind.exec_driver_sql(statement)


# --- the secret as session state ---------------------------------------------------------------


def _session_setter(dialect: str, key: bytes) -> Callable[[Any, Any, Any], None]:
    ipad, opad = (pad.hex() for pad in hmac_pads(key))

    def set_pads(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if dialect == "duckdb":
                cursor.execute("SET VARIABLE purpose_lineage_fp_ipad = from_hex(?)", [ipad])
                cursor.execute("SET VARIABLE purpose_lineage_fp_opad = from_hex(?)", [opad])
            else:
                cursor.execute(
                    "SELECT set_config('purpose_lineage.fp_ipad', %s, false), "
                    "set_config('purpose_lineage.fp_opad', %s, false)",
                    (ipad, opad),
                )
        finally:
            cursor.close()

    return set_pads


def attach_secret(engine: sa.Engine, secret: str | bytes | None) -> Callable[[], None]:
    """Make every connection of ``engine`` able to compute fingerprints; returns a detach function.

    Raises :class:`FingerprintSecretError` when the secret is missing.
    """
    key = require_secret(secret)
    listener = _session_setter(_dialect(engine), key)
    event.listen(engine, "checkout", listener)
    engine.dispose()  # pooled connections predate the listener

    def detach() -> None:
        if event.contains(engine, "checkout", listener):
            event.remove(engine, "checkout", listener)
        engine.dispose()

    return detach


def verify(
    bind: sa.Engine | sa.Connection,
    secret: str | bytes | None,
    table: str = DEFAULT_TABLE,
    native: bool = False,
) -> int:
    """Fail closed unless ``table`` exists, was built with ``secret``, and its functions agree with core.

    Returns the number of identities in the table. The connection must have the
    secret attached (:func:`attach_secret`); with ``native``, the native function is
    checked too, as the check will call it (:func:`fingerprint_sql`).
    """
    key = require_secret(secret)
    fn = function_name(table)
    probe = fingerprint_sql(":v", table, native)
    meta = quote_table(table + "_meta")
    try:
        with _connect(bind) as connection:
            row = connection.execute(sa.text(f"SELECT key_check, identities FROM {meta}")).fetchone()
            probes = [
                connection.execute(sa.text(f"SELECT {probe}"), {"v": v}).scalar() for v in _SELF_TEST_VALUES
            ]
    except sa.exc.SQLAlchemyError as exc:
        raise DataCheckError(
            f"fingerprint table {table} is missing or unreadable; build it first "
            f"(purpose_lineage.gx.fingerprints.build_fingerprint_table): {type(exc).__name__}"
        ) from None
    if row is None:
        raise DataCheckError(f"fingerprint table {table} has no metadata row; rebuild it")
    if row[0] != key_check(key):
        raise FingerprintSecretError(
            f"fingerprint table {table} was built with a different secret: rebuild it with the current "
            "secret, or configure the secret it was built with"
        )
    expected = [sink_fingerprint(key, v) for v in _SELF_TEST_VALUES]
    if probes != expected:
        raise DataCheckError(
            f"the warehouse function {fn} disagrees with purpose_lineage.core.fingerprint; "
            "rebuild the fingerprint table to reinstall it"
        )
    return int(row[1])


class _connect:
    """``with`` a connection, whether given an engine or a connection."""

    def __init__(self, bind: sa.Engine | sa.Connection):
        self.bind = bind
        self.owned: sa.Connection | None = None

    def __enter__(self) -> sa.Connection:
        if isinstance(self.bind, sa.Connection):
            return self.bind
        self.owned = self.bind.connect()
        return self.owned

    def __exit__(self, *exc: object) -> None:
        if self.owned is not None:
            self.owned.close()


# --- build -----------------------------------------------------------------------------------


def _phone_fast_path_sql(dialect: str, source: IdentifierSource, role: str, user: str, schema: str) -> str:
    col = quote_ident(source.column)
    hm = f"{schema}purpose_lineage_hmac64"
    strict = f"regexp_full_match(v, '{E164_STRICT}')" if dialect == "duckdb" else f"v ~ '^{E164_STRICT}$'"
    md5 = "md5({0})"
    keys = [
        "SELECT u, identity, 'plain' AS form, digits AS k FROM parts",
        "SELECT u, identity, 'national', substr(digits, length(cc) + 1) FROM parts WHERE cc IS NOT NULL",
        "SELECT u, identity, 'trunk', np || substr(digits, length(cc) + 1) FROM parts "
        "WHERE np IS NOT NULL AND np || substr(digits, length(cc) + 1) <> digits",
    ]
    if role == "security":
        for name, fn in (("sha256", _sha256_hex(dialect, "{0}")), ("md5", md5)):
            keys.append(f"SELECT u, identity, '{name}', {fn.format('e164')} FROM parts")
            keys.append(f"SELECT u, identity, '{name}', {fn.format('digits')} FROM parts")
    else:
        keys = ["SELECT u, identity, 'identity' AS form, NULL AS k FROM parts"]
    return f"""
        INSERT INTO _pl_stage (role, u, kind, identity, fp, form)
        WITH src AS (
            SELECT DISTINCT {user} AS u, CAST({col} AS VARCHAR) AS v FROM {_source_select(source)}
            WHERE {col} IS NOT NULL
        ), ok AS (
            SELECT u, v AS e164, substr(v, 2) AS digits FROM src WHERE {strict}
        ), parts AS (
            SELECT ok.u, ok.e164, ok.digits, {hm}(ok.e164) AS identity,
                   coalesce(c1.cc, c2.cc, c3.cc) AS cc, coalesce(c1.np, c2.np, c3.np) AS np
            FROM ok
            LEFT JOIN _pl_cc c1 ON c1.cc = substr(ok.digits, 1, 1)
            LEFT JOIN _pl_cc c2 ON c2.cc = substr(ok.digits, 1, 2)
            LEFT JOIN _pl_cc c3 ON c3.cc = substr(ok.digits, 1, 3)
        ), keys AS (
            {" UNION ALL ".join(keys)}
        )
        SELECT '{role}', u, 'phone', identity, {"NULL" if role != "security" else f"{hm}(k)"}, form FROM keys
    """


def _sha256_hex(dialect: str, expr: str) -> str:
    if dialect == "duckdb":
        return f"sha256({expr})"
    return f"encode(sha256(convert_to({expr}, 'UTF8')), 'hex')"


def _email_sql(dialect: str, source: IdentifierSource, role: str, user: str, schema: str) -> str:
    col = quote_ident(source.column)
    hm = f"{schema}purpose_lineage_hmac64"
    trim = "trim" if dialect == "duckdb" else "btrim"
    shape = f"regexp_full_match(e, '{EMAIL_SHAPE}')" if dialect == "duckdb" else f"e ~ '^{EMAIL_SHAPE}$'"
    if role == "security":
        keys = (
            "SELECT u, identity, 'plain' AS form, e AS k FROM parts "
            f"UNION ALL SELECT u, identity, 'sha256', {_sha256_hex(dialect, 'e')} FROM parts "
            "UNION ALL SELECT u, identity, 'md5', md5(e) FROM parts"
        )
        fp = f"{hm}(k)"
    else:
        keys, fp = "SELECT u, identity, 'identity' AS form FROM parts", "NULL"
    return f"""
        INSERT INTO _pl_stage (role, u, kind, identity, fp, form)
        WITH src AS (
            SELECT DISTINCT {user} AS u, lower({trim}(CAST({col} AS VARCHAR), {_WS})) AS e
            FROM {_source_select(source)} WHERE {col} IS NOT NULL
        ), parts AS (
            SELECT u, e, {hm}(e) AS identity FROM src WHERE {shape}
        ), keys AS ({keys})
        SELECT '{role}', u, 'email', identity, {fp}, form FROM keys
    """


def _rejected_emails_sql(dialect: str, source: IdentifierSource) -> str:
    col = quote_ident(source.column)
    trim = "trim" if dialect == "duckdb" else "btrim"
    shape = f"regexp_full_match(e, '{EMAIL_SHAPE}')" if dialect == "duckdb" else f"e ~ '^{EMAIL_SHAPE}$'"
    return (
        f"SELECT count(*) FROM (SELECT DISTINCT lower({trim}(CAST({col} AS VARCHAR), {_WS})) AS e "
        f"FROM {_source_select(source)} WHERE {col} IS NOT NULL) q WHERE NOT {shape}"
    )


def _python_phone_rows(
    connection: sa.Connection,
    dialect: str,
    source: IdentifierSource,
    role: str,
    user: str,
    key: bytes,
    default_region: str,
) -> tuple[int, int]:
    """Normalise the non-E.164 phones of ``source`` in Python; insert only their fingerprints."""
    col = quote_ident(source.column)
    v = f"CAST({col} AS VARCHAR)"
    strict = f"regexp_full_match({v}, '{E164_STRICT}')" if dialect == "duckdb" else f"{v} ~ '^{E164_STRICT}$'"
    select = sa.text(
        f"SELECT DISTINCT {user} AS u, {v} AS v FROM {_source_select(source)} "
        f"WHERE {col} IS NOT NULL AND NOT {strict}"
    )
    insert = sa.text(
        "INSERT INTO _pl_stage (role, u, kind, identity, fp, form) "
        "VALUES (:role, :u, 'phone', :identity, :fp, :form)"
    )
    normalised = rejected = 0
    rows: list[dict[str, Any]] = []
    result = connection.execute(select).fetchall()  # DuckDB cannot interleave a cursor with inserts
    for u, value in result:
        e164 = normalize_phone(value, default_region)
        if e164 is None:
            rejected += 1
            continue
        normalised += 1
        if role == "security":
            rows += [
                {"role": role, "u": u, "identity": f.identity, "fp": f.fp, "form": f.form.value}
                for f in fingerprints_of(key, IdentifierKind.PHONE, e164)
            ]
        else:
            ident = fingerprint(key, e164)
            rows.append({"role": role, "u": u, "identity": ident, "fp": None, "form": "identity"})
        if len(rows) >= PYTHON_BATCH:
            connection.execute(insert, rows)
            rows = []
    del result
    if rows:
        connection.execute(insert, rows)
    return normalised, rejected


def build_fingerprint_table(
    bind: sa.Engine | str,
    *,
    sources: Sequence[IdentifierSource],
    exclude: Iterable[IdentifierSource] = (),
    secret: str | bytes | None,
    table: str = DEFAULT_TABLE,
    default_region: str = "US",
) -> BuildReport:
    """Build or refresh ``table`` from ``sources``, minus identifiers in ``exclude``.

    For the security set, ``sources`` are the identifiers collected for security or
    authentication (2FA phones, recovery emails) and ``exclude`` the ones users also
    gave for marketing with consent. For a consent set, ``sources`` are the
    opted-in identifiers and ``exclude`` is empty. The new table replaces the old
    one atomically; on any error the old table is left as it was.

    Raises:
        FingerprintSecretError: the secret is missing or too short.
        DataCheckError: a source cannot be read, or the warehouse is not DuckDB/PostgreSQL.
    """
    key = require_secret(secret)
    engine = sa.create_engine(bind) if isinstance(bind, str) else bind
    dialect = _dialect(engine)
    if not sources:
        raise DataCheckError("no identifier sources given: a fingerprint set needs at least one")
    started = time.perf_counter()
    detach = attach_secret(engine, key)
    new = quote_table(table + "__new")
    schema = _schema_prefix(table)
    normalised = rejected = 0
    try:
        with engine.connect() as connection:
            _create_stage(connection, dialect)
            install_functions(connection, table)
            for role, group in (("security", sources), ("exclude", tuple(exclude))):
                for source in group:
                    kind = IdentifierKind(source.kind)
                    user = (
                        f"CAST({quote_ident(source.user_column)} AS VARCHAR)"
                        if source.user_column
                        else "CAST(NULL AS VARCHAR)"
                    )
                    if kind is IdentifierKind.EMAIL:
                        connection.exec_driver_sql(_email_sql(dialect, source, role, user, schema))
                        bad = connection.exec_driver_sql(_rejected_emails_sql(dialect, source)).scalar()
                        rejected += int(bad or 0)
                    else:
                        connection.exec_driver_sql(_phone_fast_path_sql(dialect, source, role, user, schema))
                        n, r = _python_phone_rows(
                            connection, dialect, source, role, user, key, default_region
                        )
                        normalised, rejected = normalised + n, rejected + r
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {new}")
            connection.exec_driver_sql(f"""
                CREATE TABLE {new} AS
                SELECT DISTINCT s.fp, s.identity, s.kind, s.form FROM _pl_stage s
                WHERE s.role = 'security' AND NOT EXISTS (
                    SELECT 1 FROM _pl_stage x WHERE x.role = 'exclude' AND x.identity = s.identity
                    AND (x.u = s.u OR x.u IS NULL OR s.u IS NULL))
            """)
            counts = connection.exec_driver_sql(f"""
                SELECT (SELECT count(DISTINCT identity) FROM {new}), (SELECT count(*) FROM {new}),
                       (SELECT count(DISTINCT identity) FROM _pl_stage WHERE role = 'security')
            """).one()
            identities, fingerprints, before = (int(c) for c in counts)
            connection.commit()
            _swap(connection, dialect, table, key, identities, fingerprints, before - identities, rejected)
            connection.exec_driver_sql("DROP TABLE IF EXISTS _pl_stage")
            connection.exec_driver_sql("DROP TABLE IF EXISTS _pl_cc")
            connection.commit()
    except sa.exc.SQLAlchemyError as exc:
        raise DataCheckError(
            f"building fingerprint table {table} failed ({type(exc).__name__}); "
            "the previous table is unchanged"
        ) from None
    finally:
        detach()
    report = BuildReport(
        table,
        identities,
        fingerprints,
        before - identities,
        rejected,
        normalised,
        round(time.perf_counter() - started, 3),
    )
    log.info(
        "fingerprint table %s: %d identities, %d fingerprints, %d excluded by consent, %d rejected",
        table,
        report.identities,
        report.fingerprints,
        report.excluded,
        report.rejected,
    )
    return report


def _create_stage(connection: sa.Connection, dialect: str) -> None:
    connection.exec_driver_sql("DROP TABLE IF EXISTS _pl_stage")
    connection.exec_driver_sql("DROP TABLE IF EXISTS _pl_cc")
    connection.exec_driver_sql(
        "CREATE TEMP TABLE _pl_stage (role VARCHAR, u VARCHAR, kind VARCHAR, identity BIGINT, fp BIGINT, "
        "form VARCHAR)"
    )
    connection.exec_driver_sql("CREATE TEMP TABLE _pl_cc (cc VARCHAR PRIMARY KEY, np VARCHAR)")
    connection.execute(
        sa.text("INSERT INTO _pl_cc (cc, np) VALUES (:cc, :np)"),
        [{"cc": cc, "np": np} for cc, np in country_prefixes().items()],
    )


def _swap(
    connection: sa.Connection,
    dialect: str,
    table: str,
    key: bytes,
    identities: int,
    fingerprints: int,
    excluded: int,
    rejected: int,
) -> None:
    name, new, meta = quote_table(table), quote_table(table + "__new"), quote_table(table + "_meta")
    bare = quote_ident(table.split(".")[-1])
    statements = [
        f"DROP TABLE IF EXISTS {name}",
        f"ALTER TABLE {new} RENAME TO {bare}",
        f"DROP TABLE IF EXISTS {meta}",
        f"CREATE TABLE {meta} (key_check BIGINT, identities BIGINT, fingerprints BIGINT, excluded BIGINT, "
        "rejected BIGINT, format_version VARCHAR, built_at TIMESTAMP)",
    ]
    if dialect == "postgresql":
        statements.append(f"CREATE INDEX ON {name} (fp)")
    for statement in statements:
        connection.exec_driver_sql(statement)
    connection.execute(
        sa.text(f"INSERT INTO {meta} VALUES (:kc, :i, :f, :e, :r, :v, CURRENT_TIMESTAMP)"),
        {
            "kc": key_check(key),
            "i": identities,
            "f": fingerprints,
            "e": excluded,
            "r": rejected,
            "v": FORMAT_VERSION,
        },
    )
