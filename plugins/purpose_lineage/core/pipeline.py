"""Evaluate SQL sources as one pipeline against a purpose policy, before anything runs.

The static ``check`` command's engine. :func:`evaluate_pipeline` takes an ordered list of
:class:`SqlSource` (SQL files, or the SQL of a DAG's tasks in task order) and a
:class:`TagsCatalog` of declared source tags, and returns every forbidden flow, each
located at the file and line of the statement that writes its sink.

* One pipeline: a table built by an earlier source is an input of later ones. Consecutive
  sources of one dialect are analysed as one script, so that columns and row constraints
  of tables built earlier are known; across dialects, the columns of built tables are
  handed on as a schema catalog. Tags propagate over the edges of every statement.
* Names: a tag on ``users`` also applies to ``main.users`` when the SQL qualifies it (and
  the other way round), so that a schema prefix never hides a tagged column (fail closed).
* Unknowns fail closed. Each is placed at the table its statement writes, with a wildcard
  arc from every input of the statement (:func:`find_violations` then reports the path
  through it). A statement that cannot be read at all is placed at the table its first
  tokens write (``INSERT INTO x``, ``CREATE TABLE x``...) with every table of the pipeline
  as input; when even that is unknown, it blocks the check by itself. ``allow_unknown``
  ignores unknowns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from purpose_lineage.core.evaluate import constraints_by_table, find_violations
from purpose_lineage.core.model import (
    ColumnRef,
    StatementLineage,
    Tag,
    Unknown,
    Violation,
    normalize_table,
)
from purpose_lineage.core.policy import Policy
from purpose_lineage.core.propagate import UNKNOWN_EDGE

__all__ = [
    "Finding",
    "Location",
    "PipelineResult",
    "SqlSource",
    "TagsCatalog",
    "UnknownFinding",
    "evaluate_pipeline",
]


@dataclass(frozen=True)
class SqlSource:
    """One SQL text of the pipeline.

    ``name`` labels it (a file path, or ``dag_id.task_id``); ``path`` is the file that holds
    the SQL (default: ``name``) and ``line`` the line of that file where the SQL starts.
    ``problem`` says why the SQL could not be read (e.g. a template that does not render):
    the source then blocks the check, unless unknowns are allowed.
    """

    name: str
    sql: str
    dialect: str | None = None
    path: str | None = None
    line: int = 1
    problem: str | None = None

    @property
    def file(self) -> str:
        return self.path or self.name


@dataclass(frozen=True)
class TagsCatalog:
    """Declared source tags and, optionally, complete column lists of tables (schemas)."""

    tags: tuple[Tag, ...] = ()
    schemas: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default_schema: str | None = None


@dataclass(frozen=True)
class Location:
    """Where a statement is: file and line, the source's name, and its statement number (1-based)."""

    file: str
    line: int
    source: str
    statement: int


@dataclass(frozen=True)
class Finding:
    """A violation, located at the statement writing its sink; ``hops`` locates each hop."""

    violation: Violation
    location: Location | None
    hops: tuple[Location | None, ...] = ()


@dataclass(frozen=True)
class UnknownFinding:
    """Unresolved lineage, where it is, and whether it fails the check.

    ``blocking`` is True when the unknown lies on a path from a tagged column into a sink
    the policy denies, or when the statement holding it cannot be placed at all.
    """

    unknown: Unknown
    location: Location
    blocking: bool


@dataclass(frozen=True)
class PipelineResult:
    """Everything the check found. Metadata only: names, keys and locations, never values."""

    findings: tuple[Finding, ...]
    unknowns: tuple[UnknownFinding, ...]
    statements: tuple[tuple[StatementLineage, Location], ...]
    sources: tuple[SqlSource, ...]
    allow_unknown: bool = False

    @property
    def violations(self) -> tuple[Violation, ...]:
        return tuple(f.violation for f in self.findings)

    @property
    def verdict(self) -> str:
        """``fail`` on a violation or a blocking unknown, else ``pass``."""
        return "fail" if self.findings or any(u.blocking for u in self.unknowns) else "pass"

    def summary(self) -> dict:
        edges = [e for st, _ in self.statements for e in st.edges]
        rules: dict[str, int] = {}
        for v in self.violations:
            rules[v.rule] = rules.get(v.rule, 0) + 1
        return {
            "verdict": self.verdict,
            "sources": len(self.sources),
            "statements": len(self.statements),
            "tables_written": len({st.output for st, _ in self.statements if st.output}),
            "edges": len(edges),
            "indirect_edges": sum(1 for e in edges if e.kind.value == "INDIRECT"),
            "violations": len(self.findings),
            "violations_by_rule": dict(sorted(rules.items())),
            "unknowns": len(self.unknowns),
            "blocking_unknowns": sum(1 for u in self.unknowns if u.blocking),
            "allow_unknown": self.allow_unknown,
        }


def evaluate_pipeline(
    sources: Sequence[SqlSource],
    policy: Policy,
    catalog: TagsCatalog | None = None,
    *,
    dialect: str | None = None,
    allow_unknown: bool = False,
) -> PipelineResult:
    """Analyse ``sources`` in order as one pipeline and evaluate ``policy`` over it.

    Args:
        sources: SQL texts in execution order.
        policy: the loaded policy.
        catalog: declared tags and table schemas.
        dialect: sqlglot dialect of sources that name none.
        allow_unknown: do not fail on unresolved lineage.

    >>> from purpose_lineage.core.policy import load_policy
    >>> phone = ColumnRef("users_2fa", "phone")
    >>> tags = TagsCatalog((Tag(phone, "user.contact.phone_number", "essential.service.security"),))
    >>> files = [SqlSource("hash.sql", "CREATE TABLE h AS SELECT id, sha256(phone) AS p FROM users_2fa"),
    ...          SqlSource("ads.sql", "\\nINSERT INTO ad_audience_x SELECT a.id FROM adv a JOIN h USING (p)")]
    >>> result = evaluate_pipeline(files, load_policy(), tags)
    >>> [(f.violation.sink, f.violation.edge_kinds, f.location.file, f.location.line)
    ...  for f in result.findings]
    [('ad_audience_x', ('DIRECT/TRANSFORMATION', 'INDIRECT/JOIN'), 'ads.sql', 2)]
    """
    catalog = catalog or TagsCatalog()
    schema = {normalize_table(t): tuple(c) for t, c in catalog.schemas.items()}
    declared = set(schema)
    located: list[tuple[StatementLineage, Location, SqlSource]] = []
    unreadable: list[UnknownFinding] = []
    for group in _segments(sources, dialect):
        group_dialect = group[0].dialect or dialect
        for st, loc, src in _analyze(group, group_dialect, schema, catalog.default_schema):
            located.append((st, loc, src))
            if st.output and st.columns and not st.unknowns and _creates(st.sql):
                schema.setdefault(normalize_table(st.output), tuple(st.columns))
    for src in sources:
        if src.problem:
            loc = Location(src.file, src.line, src.name, 0)
            unreadable.append(UnknownFinding(Unknown(src.problem, line=src.line), loc, not allow_unknown))
    statements = [st for st, _, _ in located]
    edges = [e for st in statements for e in st.edges]
    tables = _tables(statements) | declared | {normalize_table(t.column.table) for t in catalog.tags}
    tags = _aliased_tags(catalog.tags, tables)
    placed, loose = _place_unknowns(located, tables, dialect)
    violations = find_violations(
        tags,
        edges,
        policy,
        constraints=constraints_by_table(statements),
        unknowns=[u for u, _ in placed],
        allow_unknown=allow_unknown,
    )
    writers = _writers(located)
    findings = tuple(_locate(v, writers) for v in violations)
    through = {(h.table, h.edge) for v in violations for h in v.path if h.edge == UNKNOWN_EDGE}
    unknowns = [
        UnknownFinding(
            u, loc, not allow_unknown and (normalize_table(u.table or ""), UNKNOWN_EDGE) in through
        )
        for u, loc in placed
    ]
    unknowns += [UnknownFinding(u, loc, not allow_unknown and blocks) for u, loc, blocks in loose]
    return PipelineResult(
        findings,
        tuple(unreadable + unknowns),
        tuple((st, loc) for st, loc, _ in located),
        tuple(sources),
        allow_unknown,
    )


def _segments(sources: Sequence[SqlSource], dialect: str | None) -> list[list[SqlSource]]:
    """Runs of readable sources sharing a dialect; a source that does not tokenize stands alone
    (an unclosed quote must not swallow the files after it)."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import TokenError

    out: list[list[SqlSource]] = []
    key: object = None
    for src in sources:
        if src.problem:
            continue
        d = src.dialect or dialect
        try:
            Dialect.get_or_raise(d).tokenize(src.sql)
            ok = True
        except TokenError:
            ok = False
        if ok and out and key == d:
            out[-1].append(src)
        else:
            out.append([src])
        key = d if ok else object()
    return out


_LINE_IN_REASON = re.compile(r"\(line (\d+), col (\d+)\)")


def _analyze(
    group: list[SqlSource], dialect: str | None, schema: Mapping[str, tuple[str, ...]], prefix: str | None
) -> list[tuple[StatementLineage, Location, SqlSource]]:
    from purpose_lineage.core.lineage import analyze

    starts, parts, line = [], [], 1
    for src in group:
        starts.append(line)
        parts.append(src.sql + "\n;\n")
        line += src.sql.count("\n") + 2
    statements = analyze(
        "".join(parts), dialect=dialect, schema=dict(schema) or None, default_table_prefix=prefix
    )
    out, numbers = [], [0] * len(group)
    for st in statements:
        i = max(k for k, start in enumerate(starts) if start <= st.line)
        src, shift = group[i], group[i].line - starts[i]
        numbers[i] += 1

        def fix(u: Unknown, shift: int = shift) -> Unknown:
            reason = _LINE_IN_REASON.sub(lambda m: f"(line {int(m[1]) + shift}, col {m[2]})", u.reason)
            return replace(u, reason=reason, line=u.line + shift if u.line is not None else None)

        st = replace(st, line=st.line + shift, unknowns=tuple(fix(u) for u in st.unknowns))
        out.append((st, Location(src.file, st.line, src.name, numbers[i]), src))
    return out


def _creates(sql: str) -> bool:
    return re.match(r"\s*create\b", sql, re.I) is not None


def _tables(statements: Sequence[StatementLineage]) -> set[str]:
    names: set[str] = set()
    for st in statements:
        names.update(normalize_table(t) for t in (*st.inputs, st.output or "") if t)
        for e in st.edges:
            names.add(normalize_table(e.source.table))
    return names


def _aliased_tags(tags: Sequence[Tag], tables: set[str]) -> list[Tag]:
    """Declared tags, plus a copy for each pipeline table that names the same table with or
    without a schema prefix (``users`` ~ ``main.users``)."""
    out = list(tags)
    for tag in tags:
        name = normalize_table(tag.column.table)
        for other in tables:
            if other != name and (other.endswith("." + name) or name.endswith("." + other)):
                out.append(replace(tag, column=ColumnRef(other, tag.column.column)))
    return out


_WRITE = re.compile(
    r"^\s*(?:insert\s+(?:overwrite\s+)?(?:into\s+)?(?:table\s+)?|merge\s+into\s+|update\s+|copy\s+"
    r"|create\s+(?:or\s+replace\s+)?(?:(?:global\s+|local\s+)?(?:temp|temporary)\s+|transient\s+|unlogged\s+)?"
    r"(?:materialized\s+)?(?:table|view)\s+(?:if\s+not\s+exists\s+)?)"
    r"((?:\"[^\"]+\"|`[^`]+`|[\w$]+)(?:\s*\.\s*(?:\"[^\"]+\"|`[^`]+`|[\w$]+))*)",
    re.I,
)


def _written_table(sql: str) -> str | None:
    """The table a statement writes, read from its first words only (for statements that do not
    parse). ``COPY t FROM`` writes ``t``; ``COPY t TO`` writes no table."""
    text = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)
    match = _WRITE.match(text)
    if not match:
        return None
    if re.match(r"\s*copy\b", text, re.I) and re.search(
        r"\bto\b", text[match.end() : match.end() + 40], re.I
    ):
        return None
    return normalize_table(re.sub(r"\s+", "", match.group(1)))


def _read_only(sql: str, dialect: str | None) -> bool:
    import sqlglot
    from sqlglot import exp

    try:
        node = sqlglot.parse_one(sql, read=dialect)
    except Exception:  # anything unparseable may write anything (fail closed)
        return False
    return isinstance(node, exp.Query) and not node.find(exp.Into)


def _place_unknowns(
    located: Sequence[tuple[StatementLineage, Location, SqlSource]], tables: set[str], dialect: str | None
) -> tuple[list[tuple[Unknown, Location]], list[tuple[Unknown, Location, bool]]]:
    """Unknowns placed at the table their statement writes (with wildcard inputs), and the
    unplaceable ones with whether they block (a statement that may write something)."""
    placed: list[tuple[Unknown, Location]] = []
    loose: list[tuple[Unknown, Location, bool]] = []
    seen: set[str] = set()
    for st, loc, src in located:
        for u in st.unknowns:
            loc_u = replace(loc, line=u.line or loc.line)
            target = st.output or _written_table(st.sql)
            if target is None:
                read_only = _read_only(st.sql, src.dialect or dialect)
                loose.append((replace(u, statement=st.index), loc_u, not read_only))
                continue
            if st.output:
                inputs = tuple(
                    dict.fromkeys([*st.inputs, *([u.table] if u.table and u.table != st.output else [])])
                )
            else:  # unreadable statement: anything seen so far may flow in
                inputs = tuple(sorted(seen | tables))
            placed.append((Unknown(u.reason, st.output or target, None, st.index, u.line, inputs), loc_u))
        seen.update(normalize_table(t) for t in (*st.inputs, st.output or "") if t)
    return placed, loose


_Located = Sequence[tuple[StatementLineage, Location, SqlSource]]
_Writers = dict[str, list[tuple[StatementLineage, Location, set[tuple[str, str, str | None]]]]]


def _writers(located: _Located) -> _Writers:
    """Statements by the table they write, each with its arcs as (source table, source column,
    target column) in the walk's normalised names."""
    out: _Writers = {}
    for st, loc, _ in located:
        written = st.output or (_written_table(st.sql) if st.unknowns else None)
        if not written:
            continue
        arcs = {
            (normalize_table(e.source.table), (e.source.column or "").lower(),
             e.target.column.lower() if e.target.column is not None else None)
            for e in st.edges
        }  # fmt: skip
        out.setdefault(normalize_table(written), []).append((st, loc, arcs))
    return out


def _locate(v: Violation, writers: _Writers) -> Finding:
    hops: list[Location | None] = [None]
    for prev, hop in zip(v.path, v.path[1:], strict=False):
        hops.append(_writer(prev.table, prev.column, hop.table, hop.column, hop.edge, writers))
    where = hops[-1] if len(v.path) > 1 else _writer(None, None, v.sink, v.sink_column, None, writers)
    return Finding(v, where, tuple(hops))


def _writer(
    src_table: str | None,
    src_col: str | None,
    table: str,
    column: str | None,
    label: str | None,
    writers: _Writers,
) -> Location | None:
    """The statement writing ``table`` through the given hop; else the first one writing it."""
    candidates = writers.get(table, [])
    for st, loc, arcs in candidates:
        if label == UNKNOWN_EDGE and st.unknowns:
            return loc
        if src_table is not None and (
            (src_table, src_col or "", None) in arcs or (src_table, src_col or "", column) in arcs
        ):
            return loc
    return candidates[0][1] if candidates else None
