"""Column-level lineage of SQL, including indirect uses (join keys, filters, grouping...).

:func:`analyze` turns a SQL script into one :class:`~purpose_lineage.core.model.StatementLineage`
per statement. Each edge feeds one base-table column into one output column with an
OpenLineage subtype:

* DIRECT: ``IDENTITY`` (a copy), ``TRANSFORMATION``, ``AGGREGATION``; ``masking`` is set
  when every path goes through a hash, encoding or truncation (``sha256``, ``md5``,
  ``to_base64``, ``left``, ``substr``...).
* INDIRECT: ``JOIN`` (ON/USING/NATURAL keys, ``IN``/``EXISTS`` semi-join keys), ``FILTER``
  (WHERE/HAVING/QUALIFY), ``GROUP_BY``, ``SORT``, ``WINDOW``, ``CONDITIONAL`` (CASE/IF).
  Row-level uses (JOIN, FILTER, GROUP_BY, SORT) appear on every output column and on the
  dataset as a whole (target column ``None``); WINDOW and CONDITIONAL only on the columns
  whose expression holds them.

Conventions:

* Names are lower-cased. A table keeps the name the SQL writes (``users_2fa`` or
  ``main.users_2fa``), prefixed with ``default_table_prefix`` when unqualified, or
  completed to the one catalog key that ends with it.
* Each statement is separate: a statement reading a view or table that an earlier
  statement of the script created has that view/table as its input (the propagation
  engine chains them); its columns are known from the earlier statement, and row
  constraints are traced through it to the base tables.
* A bare SELECT has ``output`` None; its edges target the table ``"<result>"``.
* Anything not resolved is an :class:`~purpose_lineage.core.model.Unknown` (parse errors
  with their line, ``SELECT *`` without a catalog, ambiguous or missing columns,
  unsupported statements). Nothing is dropped silently: callers decide to fail closed.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from purpose_lineage.core.model import StatementLineage, Subtype, Unknown
from purpose_lineage.core.sql_catalog import Catalog
from purpose_lineage.core.sql_statements import RESULT_TABLE, Script
from purpose_lineage.errors import SqlAnalysisError

__all__ = ["RESULT_TABLE", "analyze"]

log = logging.getLogger(__name__)

SchemaArg = Mapping[str, Mapping[str, str] | Sequence[str]]


class _NoSqlInLogs(logging.Filter):
    """sqlglot logs the text of statements it cannot parse fully; SQL may hold raw identifiers."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        return "unsupported syntax" not in msg and "Invalid JSON path" not in msg


logging.getLogger("sqlglot").addFilter(_NoSqlInLogs())


def analyze(
    sql: str | exp.Expr,
    *,
    dialect: str | None = None,
    schema: SchemaArg | None = None,
    default_table_prefix: str | None = None,
    strict: bool = False,
) -> list[StatementLineage]:
    """Column lineage of every statement of ``sql``.

    Args:
        sql: a script of one or more statements, or one parsed sqlglot expression.
        dialect: sqlglot dialect name (``duckdb``, ``postgres``, ``snowflake``, ``bigquery``,
            ``spark``, ``mysql``...); None is sqlglot's generic dialect.
        schema: catalog mapping table names (``users`` or ``main.users``) to their columns,
            as ``{column: type}`` or a list of column names; nested ``{db: {table: ...}}`` works too.
        default_table_prefix: schema (or ``db.schema``) of unqualified table names.
        strict: raise :class:`~purpose_lineage.errors.SqlAnalysisError` on a statement that
            cannot be parsed or analysed, instead of reporting it as an Unknown.

    Returns:
        One :class:`StatementLineage` per statement, in order.

    >>> [st] = analyze("INSERT INTO ad SELECT u.id FROM users u WHERE u.phone IN (SELECT p FROM adv)")
    >>> for e in st.edges:
    ...     if e.target.column == "id":
    ...         print(e.source, e.subtype)
    adv.p FILTER
    adv.p JOIN
    users.id IDENTITY
    users.phone FILTER
    users.phone JOIN
    >>> analyze("SELECT (1; SELECT 2")[0].unknowns[0].reason
    'parse error: Expecting ) (line 1, col 9)'
    """
    script = Script(Catalog(schema, default_table_prefix))
    if isinstance(sql, exp.Expr):
        return [_run(script, sql, 0, sql.sql(dialect=dialect), 1, 0, strict)]
    results = []
    d = _dialect(dialect)
    for index, chunk in enumerate(_split(sql, d)):
        text, line, tokens, offset, error = chunk
        node = None
        if error is None:
            try:
                parsed = [e for e in d.parser().parse(tokens, sql if offset == 0 else text) if e is not None]
                node = parsed[0] if parsed else None
            except ParseError as exc:
                error = _describe(exc, offset)
            except Exception as exc:  # e.g. RecursionError on absurdly deep nesting
                error = f"the parser failed ({type(exc).__name__})"
        if error is not None:
            if strict:
                raise SqlAnalysisError(f"statement {index + 1}: {error}")
            unknown = Unknown(f"parse error: {error}", statement=index, line=line)
            results.append(
                StatementLineage(index=index, sql=text, output=None, unknowns=(unknown,), line=line)
            )
            continue
        if node is None:
            results.append(StatementLineage(index=index, sql=text, output=None, line=line))
            continue
        results.append(_run(script, node, index, text, line, offset, strict))
    return results


@functools.lru_cache(maxsize=32)
def _dialect(name: str | None) -> Dialect:
    """Dialect instances are stateless for tokenizing and parsing: build each once."""
    return Dialect.get_or_raise(name)


def _run(
    script: Script, node: exp.Expr, index: int, text: str, line: int, offset: int, strict: bool
) -> StatementLineage:
    try:
        return _name_aggregates(script.statement(node, index, text, line, offset), node)
    except Exception as exc:  # never lose the other statements of a script to one bad one
        if strict:
            raise SqlAnalysisError(f"statement {index + 1}: analysis failed ({type(exc).__name__})") from exc
        log.debug("lineage analysis of statement %d failed: %s", index, type(exc).__name__, exc_info=True)
        unknown = Unknown(f"analysis failed: {type(exc).__name__}", statement=index, line=line)
        return StatementLineage(index=index, sql=text, output=None, unknowns=(unknown,), line=line)


def _name_aggregates(st: StatementLineage, node: exp.Expr) -> StatementLineage:
    """Name the aggregate on AGGREGATION edges whose output column is one top-level aggregate call.

    Policies may declare an aggregate safe (``count`` ends a purpose, ``max`` does not), so the
    edge must say which one. Only the function name is kept: its arguments may hold literals.
    Anything less direct (an aggregate inside an expression) stays unnamed and so never safe.
    """
    query = node.expression if isinstance(node, (exp.Create, exp.Insert)) else node
    if not isinstance(query, exp.Select) or not st.output or not st.columns:
        return st
    names = {}
    for column, projection in zip(st.columns, query.expressions, strict=False):
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(inner, exp.AggFunc):
            names[column] = inner.sql_name()
    if not names:
        return st
    edges = tuple(
        replace(e, description=names[e.target.column])
        if e.subtype is Subtype.AGGREGATION and e.target.column in names and not e.description
        else e
        for e in st.edges
    )
    return replace(st, edges=edges)


_TOKEN = re.compile(r"<Token token_type: TokenType\.(\w+).*?>", re.S)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_DIGITS = re.compile(r"\d{5,}")


def _describe(exc: ParseError, offset: int) -> str:
    """The parse error without SQL text: literals in it may be raw identifiers (phones, emails)."""
    err = exc.errors[0] if exc.errors else {}
    desc = str(err.get("description") or "invalid SQL").split("\n")[0]
    desc = _DIGITS.sub("#", _QUOTED.sub("'…'", _TOKEN.sub(r"\1", desc)))
    line, col = err.get("line"), err.get("col")
    return f"{desc} (line {line + offset}, col {col})" if line is not None else desc


_Chunk = tuple[str, int, list[Token], int, str | None]  # text, line, tokens, line offset, error


def _split(sql: str, d: Dialect) -> list[_Chunk]:
    """Statements of a script, split on semicolons between tokens."""
    try:
        tokens = d.tokenize(sql)
    except TokenError:
        return _split_text(sql, d)
    chunks: list[_Chunk] = []
    cur: list[Token] = []
    for tok in [*tokens, None]:
        if tok is None or tok.token_type == TokenType.SEMICOLON:
            if cur:
                chunks.append((sql[cur[0].start : cur[-1].end + 1], cur[0].line, cur, 0, None))
            cur = []
        else:
            cur.append(tok)
    return chunks


def _split_text(sql: str, d: Dialect) -> list[_Chunk]:
    """Fallback when the script does not tokenize (e.g. an unclosed quote): split on bare ``;``."""
    chunks: list[_Chunk] = []
    for start, end in _statement_spans(sql):
        text = sql[start:end].strip()
        if not text:
            continue
        lead = len(sql[start:end]) - len(sql[start:end].lstrip())
        offset = sql.count("\n", 0, start + lead)
        try:
            tokens = d.tokenize(text)
        except TokenError:
            chunks.append((text, offset + 1, [], offset, "could not tokenize (unclosed quote or comment?)"))
            continue
        if tokens:
            chunks.append((text, offset + tokens[0].line, tokens, offset, None))
    return chunks


def _statement_spans(sql: str) -> list[tuple[int, int]]:
    spans, start, i, quote = [], 0, 0, ""
    while i < len(sql):
        ch = sql[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif sql.startswith("--", i):
            nl = sql.find("\n", i)
            i = len(sql) if nl < 0 else nl
            continue
        elif sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            i = len(sql) if close < 0 else close + 2
            continue
        elif ch == ";":
            spans.append((start, i))
            start = i + 1
        i += 1
    spans.append((start, len(sql)))
    return spans
