"""Statements: what each statement of a script writes, from which columns.

:class:`Script` keeps the running catalog of a script: ``CREATE TABLE``/``VIEW``
add their columns (and, for ``... AS SELECT``, their definition, so that later
statements trace row constraints through them), ``DROP`` removes them, and writes to
a table made by ``CREATE TABLE AS`` forget its constraints.
"""

from __future__ import annotations

from sqlglot import exp

from purpose_lineage.core.model import ColumnRef, Edge, RowConstraint, StatementLineage, Subtype
from purpose_lineage.core.sql_catalog import Catalog, table_parts
from purpose_lineage.core.sql_expr import Context
from purpose_lineage.core.sql_predicates import conjuncts, constraint_ok, predicate_sql
from purpose_lineage.core.sql_scope import (
    Contrib,
    QueryRel,
    Relation,
    Scope,
    TableRel,
    base_refs,
    merge_all,
    sound_constraints,
    source_reads,
)
from purpose_lineage.core.sql_walk import Analyzer

RESULT_TABLE = "<result>"  # the target of a bare SELECT's edges (its output is None)

_QUIET = tuple(
    getattr(exp, name)
    for name in (
        "Use",
        "Set",
        "Transaction",
        "Commit",
        "Rollback",
        "Describe",
        "Show",
        "Pragma",
        "Grant",
        "Revoke",
        "Comment",
        "TruncateTable",
        "Analyze",
        "Cache",
        "Uncache",
        "Refresh",
        "Alter",
        "Semicolon",
        "Declare",
        "Execute",
        "Summarize",
    )
    if hasattr(exp, name)
)
_QUIET_COMMANDS = frozenset(
    {
        "SET",
        "USE",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "START",
        "END",
        "VACUUM",
        "ANALYZE",
        "GRANT",
        "REVOKE",
        "COMMENT",
        "SHOW",
        "DESCRIBE",
        "DESC",
        "EXPLAIN",
        "PRAGMA",
        "CHECKPOINT",
        "RESET",
        "DISCARD",
        "LOCK",
        "UNLOCK",
        "REFRESH",
        "OPTIMIZE",
        "MSCK",
        "ALTER",
        "DECLARE",
        "INSTALL",
        "LOAD",
    }
)


class Script:
    """Analyses the statements of one script in order."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.defined: dict[str, Relation] = {}
        self.ctas: set[str] = set()

    def statement(
        self, node: exp.Expr, index: int, text: str, line: int, line_offset: int = 0
    ) -> StatementLineage:
        ctx = Context(self.catalog, self.defined, index, line, line_offset)
        out = _Out(ctx, index, text, line)
        an = Analyzer(ctx)
        if isinstance(node, (exp.Query, exp.Subquery)):
            self._query(node, an, out)
        elif isinstance(node, exp.Insert):
            self._insert(node, an, out)
        elif isinstance(node, exp.Create):
            self._create(node, an, out)
        elif isinstance(node, exp.Update):
            self._update(node, an, out)
        elif isinstance(node, exp.Merge):
            self._merge(node, an, out)
        elif isinstance(node, exp.Delete):
            self._delete(node, an, out)
        elif isinstance(node, exp.Drop):
            for table in node.args.get("tables") or ():
                name = self.catalog.resolve(table_parts(table), self.defined)
                self.catalog.remove(name)
                self.defined.pop(name, None)
        elif isinstance(node, exp.Command):
            if str(node.this).upper() not in _QUIET_COMMANDS:
                ctx.unknown(f"unsupported statement: {str(node.this).upper()}")
        elif isinstance(node, (exp.Condition, exp.Alias, exp.Identifier)):  # e.g. "SELEC x"
            ctx.unknown(f"parse error: not a SQL statement ({node.key})")
        elif not isinstance(node, _QUIET):
            table = node.find(exp.Table)
            name = self.catalog.resolve(table_parts(table)) if table is not None else None
            ctx.unknown(f"unsupported statement: {node.key.upper()}", name)
        return out.result()

    # -- queries and inserts -----------------------------------------------------------------

    def _query(self, node: exp.Expr, an: Analyzer, out: _Out) -> None:
        into = node.args.get("into") if isinstance(node, exp.Select) else None
        rel = an.query(node, None)
        if into is None:
            out.query(RESULT_TABLE, rel, [c.name for c in rel.outs])
            out.output = None
            return
        name = self.catalog.resolve(table_parts(into.this), self.defined)
        names = [c.name for c in rel.outs]
        out.query(name, rel, names)
        self._define(name, rel, names, view=False)

    def _insert(self, node: exp.Insert, an: Analyzer, out: _Out) -> None:
        target = node.this
        listed: list[str] = []
        if isinstance(target, exp.Schema):
            listed = [c.name.lower() for c in target.expressions]
            target = target.this
        if not isinstance(target, exp.Table):
            an.ctx.unknown(f"unsupported INSERT target: {target.key}")
            return
        name = self.catalog.resolve(table_parts(target), self.defined)
        src = node.expression
        self._wrote(name)
        if src is None:
            out.output = name
            return
        top = self._top(node, an)
        rel = an.values(src, Scope(None, top), name) if isinstance(src, exp.Values) else an.query(src, top)
        names = [c.name for c in rel.outs]
        known = self.catalog.columns(name)
        if listed:
            if len(listed) != len(rel.outs) and not rel.open:
                an.ctx.unknown(
                    f"INSERT lists {len(listed)} columns but the query returns {len(rel.outs)}", name
                )
            names = listed
        elif known is not None and not node.args.get("by_name") and not rel.open:
            if len(known) == len(rel.outs):
                names = list(known)
            else:
                an.ctx.unknown(f"INSERT into {len(known)} columns from {len(rel.outs)}: mapped by name", name)
        out.query(name, rel, names)

    def _create(self, node: exp.Create, an: Analyzer, out: _Out) -> None:
        target = node.this
        listed: list[str] = []
        if isinstance(target, exp.Schema):
            listed = [
                c.name.lower() for c in target.expressions if isinstance(c, (exp.Identifier, exp.ColumnDef))
            ]
            target = target.this
        if not isinstance(target, exp.Table):
            return  # CREATE FUNCTION/SCHEMA/INDEX...: no data lineage
        name = self.catalog.resolve(table_parts(target), self.defined)
        kind = str(node.args.get("kind") or "").upper()
        src = node.expression
        if isinstance(src, (exp.Query, exp.Subquery)):
            rel = an.query(src, self._top(node, an), None, name)
            names = listed or [c.name for c in rel.outs]
            out.query(name, rel, names)
            self._define(name, rel, names, view="VIEW" in kind)
        elif kind in ("TABLE", "VIEW") or listed:
            out.output = name
            self.defined.pop(name, None)
            if listed:
                self.catalog.add(name, listed)
                out.columns = listed

    @staticmethod
    def _top(node: exp.Expr, an: Analyzer) -> Scope | None:
        """CTEs written before a DML statement (``WITH x AS (...) INSERT ...``)."""
        if node.args.get("with_") is None:
            return None
        scope = Scope()
        an.ctes(node, scope)
        return scope

    def _define(self, name: str, rel: QueryRel, names: list[str], view: bool) -> None:
        if len(names) == len(rel.outs):
            rel.rename(names)
        if rel.open:
            self.catalog.remove(name)
        else:
            self.catalog.add(name, names)
        self.defined[name] = rel
        if not view:
            self.ctas.add(name)

    def _wrote(self, name: str) -> None:
        """Rows added by later writes need not satisfy a CREATE TABLE AS query's constraints."""
        if name in self.ctas:
            self.ctas.discard(name)
            self.defined.pop(name, None)

    # -- UPDATE, MERGE, DELETE ---------------------------------------------------------------

    def _target(self, table: exp.Expr, an: Analyzer, scope: Scope) -> tuple[str, str]:
        alias = an.source(table, scope)
        rel = scope.sources[alias]
        return alias, rel.base_table or rel.label

    def _update(self, node: exp.Update, an: Analyzer, out: _Out) -> None:
        scope = Scope(None, self._top(node, an))
        alias, name = self._target(node.this, an, scope)
        dataset: Contrib = {}
        order, nullable, inner_ons = [alias], set(), []
        if isinstance(node.this, exp.Table) and node.this.args.get("joins"):
            an.add_joins(node.this.args["joins"], scope, order, nullable, inner_ons, dataset)
        if node.args.get("from_") is not None:
            order.append(an.source(node.args["from_"].this, scope))
        an.add_joins(list(node.args.get("joins") or ()), scope, order, nullable, inner_ons, dataset)
        for src in scope.sources.values():
            merge_all(dataset, src.dataset)
        for on in inner_ons:
            an.walk(on, scope, Subtype.JOIN, dataset, "on")
        where = node.args.get("where")
        if where is not None:
            an.walk(where, scope, Subtype.FILTER, dataset, "where")
        columns: dict[str, Contrib] = {}
        for eq in node.expressions:
            acc = columns.setdefault(eq.this.name.lower(), {})
            an.walk(eq.expression, scope, Subtype.IDENTITY, acc, "select")
        self._wrote(name)
        conds = conjuncts(where.this if where is not None else None) + [
            c for on in inner_ons for c in conjuncts(on)
        ]
        out.write(name, columns, dataset, _constraints(an, scope, conds, nullable | {alias}))

    def _merge(self, node: exp.Merge, an: Analyzer, out: _Out) -> None:
        scope = Scope(None, self._top(node, an))
        alias, name = self._target(node.this, an, scope)
        src_alias = an.source(node.args["using"], scope)
        source = scope.sources[src_alias]
        dataset: Contrib = dict(source.dataset)
        if node.args.get("on") is not None:
            an.walk(node.args["on"], scope, Subtype.JOIN, dataset, "on")
        columns: dict[str, Contrib] = {}
        whens = node.args.get("whens")
        for when in whens.expressions if whens is not None else ():
            cond, then = when.args.get("condition"), when.args.get("then")
            cond_acc: Contrib = {}
            if cond is not None:
                an.walk(cond, scope, Subtype.CONDITIONAL, cond_acc, "where")
            pairs = self._merge_pairs(then, name, source, an)
            if pairs is None:  # DELETE: the condition decides which rows remain
                if cond is not None:
                    an.walk(cond, scope, Subtype.FILTER, dataset, "where")
                continue
            for column, value in pairs:
                acc = columns.setdefault(column, {})
                if isinstance(value, dict):
                    merge_all(acc, value)
                else:
                    an.walk(value, scope, Subtype.IDENTITY, acc, "select")
                merge_all(acc, cond_acc)
        self._wrote(name)
        out.write(name, columns, dataset, ())

    def _merge_pairs(
        self, then: exp.Expr | None, name: str, source: Relation, an: Analyzer
    ) -> list[tuple[str, exp.Expr | Contrib]] | None:
        star = [(n, source.column(n) or {}) for n in source.names() or ()]
        if isinstance(then, exp.Update):
            if any(isinstance(e, exp.Star) for e in then.expressions):
                if source.names() is None:
                    an.ctx.unknown("MERGE UPDATE SET * without a catalog for the source", name, "*")
                return star  # type: ignore[return-value]
            return [(eq.this.name.lower(), eq.expression) for eq in then.expressions]
        if isinstance(then, exp.Insert):
            if isinstance(then.this, exp.Star):
                if source.names() is None:
                    an.ctx.unknown("MERGE INSERT * without a catalog for the source", name, "*")
                return star  # type: ignore[return-value]
            cols = (
                [c.name.lower() for c in then.this.expressions]
                if then.this is not None
                else list(self.catalog.columns(name) or ())
            )
            vals = then.expression.expressions if isinstance(then.expression, exp.Tuple) else []
            if len(cols) != len(vals):
                an.ctx.unknown(f"MERGE INSERT of {len(vals)} values into {len(cols)} columns", name)
            return list(zip(cols, vals, strict=False))
        return None

    def _delete(self, node: exp.Delete, an: Analyzer, out: _Out) -> None:
        scope = Scope(None, self._top(node, an))
        _, name = self._target(node.this, an, scope)
        for table in node.args.get("using") or ():
            an.source(table, scope)
        dataset: Contrib = {}
        for src in scope.sources.values():
            merge_all(dataset, src.dataset)
        if node.args.get("where") is not None:
            an.walk(node.args["where"], scope, Subtype.FILTER, dataset, "where")
        self._wrote(name)
        out.write(name, {}, dataset, ())


def _constraints(
    an: Analyzer, scope: Scope, conds: list[exp.Expr], skip: set[str]
) -> tuple[RowConstraint, ...]:
    out: dict[RowConstraint, None] = {}
    for cond in conds:
        if constraint_ok(cond):
            base = an.base_expr(cond, scope)
            if base is not None:
                text = predicate_sql(base)
                out.update(dict.fromkeys(RowConstraint(ref, text) for ref in base_refs(base)))
    for alias, src in scope.sources.items():
        if alias not in skip:
            out.update(dict.fromkeys(src.constraints()))
    return sound_constraints(out, source_reads(scope))


class _Out:
    """Collects one statement's edges and turns them into a :class:`StatementLineage`."""

    def __init__(self, ctx: Context, index: int, text: str, line: int):
        self.ctx, self.index, self.text, self.line = ctx, index, text, line
        self.output: str | None = None
        self.columns: list[str] = []
        self.edges: dict[tuple[ColumnRef, ColumnRef, Subtype], bool] = {}
        self.constraints: tuple[RowConstraint, ...] = ()

    def _add(self, src: ColumnRef, tgt: ColumnRef, sub: Subtype, masked: bool) -> None:
        key = (src, tgt, sub)
        prev = self.edges.get(key)
        self.edges[key] = masked if prev is None else (prev and masked)

    def query(self, target: str, rel: QueryRel, names: list[str]) -> None:
        for table in _open_tables(rel):
            self.ctx.unknown(f"SELECT * over {table}: its columns are unknown (no catalog)", table, "*")
        columns = {}
        for name, col in zip(names, rel.outs, strict=False):
            merge_all(columns.setdefault(name, {}), col.contrib)
        self.write(target, columns, rel.dataset, sound_constraints(rel.constraints(), rel.reads()))
        self.columns = list(names[: len(rel.outs)])

    def write(
        self,
        target: str,
        columns: dict[str, Contrib],
        dataset: Contrib,
        constraints: tuple[RowConstraint, ...],
    ) -> None:
        self.output = target
        self.columns = list(columns)
        self.constraints = constraints
        for name, contrib in columns.items():
            tgt = ColumnRef(target, name)
            for (src, sub), masked in contrib.items():
                self._add(src, tgt, sub, masked)
            for (src, sub), masked in dataset.items():
                self._add(src, tgt, sub, masked)
        whole = ColumnRef(target, None)
        for (src, sub), masked in dataset.items():
            self._add(src, whole, sub, masked)

    def result(self) -> StatementLineage:
        edges = sorted(
            (Edge(src, tgt, sub, masked) for (src, tgt, sub), masked in self.edges.items()),
            key=_edge_key,
        )
        return StatementLineage(
            index=self.index,
            sql=self.text,
            output=self.output,
            inputs=tuple(self.ctx.inputs),
            edges=tuple(edges),
            unknowns=tuple(self.ctx.unknowns),
            constraints=self.constraints,
            line=self.line,
            columns=tuple(self.columns),
        )


def _edge_key(edge: Edge) -> tuple:
    return (
        edge.target.table,
        edge.target.column or "",
        edge.source.table,
        edge.source.column or "",
        edge.subtype.value,
    )


def _open_tables(rel: Relation) -> list[str]:
    """Tables behind unexpanded stars (``SELECT *`` with no catalog)."""
    out: list[str] = []
    stack = list(getattr(rel, "open", ()))
    while stack:
        cur = stack.pop(0)
        if isinstance(cur, TableRel):
            out.append(cur.label)
        else:
            nested = getattr(cur, "open", None)
            if nested:
                stack.extend(nested)
            else:
                out.append(cur.label)
    return list(dict.fromkeys(out))
