"""Expressions: which base columns an expression reads, in which role, and column resolution.

:class:`ExprWalker` walks one expression without recursion, carrying the role of
the current position (identity, transformation, aggregation, or an indirect use such
as a CASE condition or window partition) and whether a masking function encloses it.
Column references are resolved against the :class:`~.sql_scope.Scope`; subqueries are
analysed by the subclass (:class:`~.sql_walk.Analyzer`) and composed into the result.
"""

from __future__ import annotations

from sqlglot import exp

from purpose_lineage.core.model import Subtype, Unknown
from purpose_lineage.core.sql_catalog import Catalog, is_masking, table_parts
from purpose_lineage.core.sql_predicates import in_scope
from purpose_lineage.core.sql_scope import (
    DIRECT_RANK,
    Contrib,
    QueryRel,
    Relation,
    Scope,
    TableRel,
    compose_into,
)

ID, TRANSFORM, AGG = Subtype.IDENTITY, Subtype.TRANSFORMATION, Subtype.AGGREGATION
_LEAVES = (
    exp.Literal,
    exp.Star,
    exp.Null,
    exp.Boolean,
    exp.DataType,
    exp.Var,
    exp.Placeholder,
    exp.Parameter,
    exp.Identifier,
)
_PASS = (exp.Alias, exp.Paren, exp.Ordered, exp.Distinct, exp.Tuple, exp.Where, exp.PropertyEQ)

# Window functions that pick a value from another row: a transformation, not an aggregation.
_NAVIGATION = (exp.Lag, exp.Lead, exp.FirstValue, exp.LastValue, exp.NthValue)

Binding = tuple  # ("rels", [(Relation, name), ...]) | ("alias", expr, name) | ("struct", Binding)


class Context:
    """Per-statement state: catalog, script definitions, unknowns and inputs found."""

    def __init__(
        self, catalog: Catalog, defined: dict[str, Relation], index: int, line: int = 1, line_offset: int = 0
    ):
        self.catalog = catalog
        self.line = line
        self.defined = defined
        self.index = index
        self.line_offset = line_offset
        self.unknowns: dict[Unknown, None] = {}
        self.inputs: dict[str, None] = {}

    def unknown(
        self, reason: str, table: str | None = None, column: str | None = None, node: exp.Expr | None = None
    ) -> None:
        line = None
        if node is not None:
            ident = node.this if isinstance(node, exp.Column) and isinstance(node.this, exp.Expr) else node
            line = ident.meta.get("line") if isinstance(ident, exp.Expr) else None
            if line is not None:
                line += self.line_offset
        self.unknowns[Unknown(reason, table, column, self.index, line or self.line)] = None

    def table(self, node: exp.Table) -> TableRel:
        name = self.catalog.resolve(table_parts(node), self.defined)
        self.inputs[name] = None
        return TableRel(name, self.catalog.columns(name), self.defined.get(name))


def _direct(sub: Subtype, floor: Subtype) -> Subtype:
    """The role of a child: indirect roles stick, direct roles only grow."""
    rank = DIRECT_RANK.get(sub)
    if rank is None:
        return sub
    return floor if DIRECT_RANK[floor] > rank else sub


def _indirect(sub: Subtype, role: Subtype) -> Subtype:
    return role if sub in DIRECT_RANK else sub


def _first_arg(node: exp.Expr) -> exp.Expr | None:
    if isinstance(node.this, exp.Expr):
        return node.this
    return node.expressions[0] if node.expressions else None


def _correlated(node: exp.Expr, scope: Scope) -> list[exp.Column]:
    """Columns of nested subqueries that refer to ``scope`` by a qualified name (EXISTS keys)."""
    out = []
    for query in node.find_all(exp.Query):
        if query is node or not isinstance(query, exp.Select):
            continue
        inner = {t.alias_or_name.lower() for t in query.find_all(exp.Table, exp.Subquery)}
        for col in query.find_all(exp.Column):
            table = col.table.lower() if col.table else ""
            if (
                table
                and table not in inner
                and table in scope.sources
                and col.find_ancestor(exp.Select) is query
            ):
                out.append(col)
    return out


class ExprWalker:
    """Expression walking and column resolution; the subclass analyses queries."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def query(
        self, node: exp.Expr, lexical: Scope | None, outer: Scope | None = None, label: str = "query"
    ) -> QueryRel:
        raise NotImplementedError

    # -- walking -----------------------------------------------------------------------------

    def walk(
        self,
        root: exp.Expr,
        scope: Scope,
        sub: Subtype,
        acc: Contrib,
        clause: str,
        idx: int | None = None,
        masked: bool = False,
    ) -> None:
        """Add to ``acc`` every base column ``root`` reads, in role ``sub``."""
        stack: list[tuple] = [(root, sub, masked, frozenset(), frozenset())]
        while stack:
            node, sub, masked, expanding, lvars = stack.pop()
            if isinstance(node, exp.Column):
                self._use_column(node, scope, sub, masked, acc, clause, idx, expanding, lvars, stack)
                continue
            if isinstance(node, _LEAVES):
                continue
            if isinstance(node, (exp.Query, exp.Subquery)):
                rel = self.query(node, scope, scope)
                compose_into(acc, rel.all_contrib(), sub, masked)
                continue
            if isinstance(node, exp.In) and node.args.get("query") is not None:
                self._semi(node.this, node.args["query"], scope, sub, masked, acc, clause, idx, stack)
                continue
            if isinstance(node, exp.Exists):  # only which rows exist matters, not what is selected
                rel = self.query(node.this, scope, scope)
                compose_into(acc, rel.dataset, sub, masked)
                compose_into(acc, rel.semi, Subtype.JOIN, masked)
                continue
            if (
                isinstance(node, exp.Binary)
                and isinstance(node.expression, (exp.Any, exp.All))
                and isinstance(node.expression.this, (exp.Query, exp.Subquery))
            ):
                self._semi(node.this, node.expression.this, scope, sub, masked, acc, clause, idx, stack)
                continue
            item = (sub, masked, expanding, lvars)
            self._children(node, item, scope, stack)

    def _children(self, node: exp.Expr, item: tuple, scope: Scope, stack: list) -> None:
        sub, masked, expanding, lvars = item
        push = stack.append
        if isinstance(node, _PASS):
            for child in node.iter_expressions():
                push((child, sub, masked, expanding, lvars))
        elif isinstance(node, exp.Case):
            cond = _indirect(sub, Subtype.CONDITIONAL)
            if node.this is not None:
                push((node.this, cond, masked, expanding, lvars))
            for branch in node.args.get("ifs") or ():
                push((branch.this, cond, masked, expanding, lvars))
                push((branch.args.get("true"), _direct(sub, TRANSFORM), masked, expanding, lvars))
            if node.args.get("default") is not None:
                push((node.args["default"], _direct(sub, TRANSFORM), masked, expanding, lvars))
        elif isinstance(node, exp.If):
            push((node.this, _indirect(sub, Subtype.CONDITIONAL), masked, expanding, lvars))
            for key in ("true", "false"):
                if node.args.get(key) is not None:
                    push((node.args[key], _direct(sub, TRANSFORM), masked, expanding, lvars))
        elif isinstance(node, exp.Window):
            push((node.this, _direct(sub, TRANSFORM), masked, expanding, lvars))
            win = _indirect(sub, Subtype.WINDOW)
            specs = [node]
            named = node.args.get("alias")
            if isinstance(named, exp.Identifier) and named.name.lower() in scope.windows:
                specs.append(scope.windows[named.name.lower()])
            for spec in specs:
                for part in spec.args.get("partition_by") or ():
                    push((part, win, masked, expanding, lvars))
                if spec.args.get("order") is not None:
                    push((spec.args["order"], win, masked, expanding, lvars))
        elif isinstance(node, exp.Filter):
            push((node.this, sub, masked, expanding, lvars))
            push((node.expression, _indirect(sub, Subtype.FILTER), masked, expanding, lvars))
        elif isinstance(node, exp.Lambda):
            names = frozenset(e.name.lower() for e in node.expressions)
            push((node.this, _direct(sub, TRANSFORM), masked, expanding, lvars | names))
        else:
            agg = isinstance(node, exp.AggFunc) and not (
                isinstance(node, _NAVIGATION) and isinstance(node.parent, exp.Window)
            )
            child_sub = _direct(sub, AGG if agg else TRANSFORM)
            first = _first_arg(node) if is_masking(node) else None
            for child in node.iter_expressions():
                push((child, child_sub, masked or child is first, expanding, lvars))

    def _semi(
        self,
        lhs: exp.Expr,
        query: exp.Expr,
        scope: Scope,
        sub: Subtype,
        masked: bool,
        acc: Contrib,
        clause: str,
        idx: int | None,
        stack: list,
    ) -> None:
        """``x IN (SELECT y ...)``: a semi-join. Both keys are JOIN uses besides their own role."""
        rel = self.query(query, scope, scope)
        compose_into(acc, rel.all_contrib(), sub, masked)
        for col in rel.outs:
            compose_into(acc, col.contrib, Subtype.JOIN, masked)
        compose_into(acc, rel.semi, Subtype.JOIN, masked)
        stack.append((lhs, sub, masked, frozenset(), frozenset()))
        self.walk(lhs, scope, Subtype.JOIN, acc, clause, idx, masked)

    def _use_column(
        self,
        node: exp.Column,
        scope: Scope,
        sub: Subtype,
        masked: bool,
        acc: Contrib,
        clause: str,
        idx: int | None,
        expanding: frozenset,
        lvars: frozenset,
        stack: list,
    ) -> None:
        if isinstance(node.this, exp.Star):
            return
        name = node.name.lower()
        if not node.table and name in lvars:
            return
        binding = self.resolve(node, scope, clause, idx, expanding)
        if binding is None:
            return
        if binding[0] == "alias":
            stack.append((binding[1], sub, masked, expanding | {binding[2]}, lvars))
            return
        if binding[0] == "struct":
            binding, sub = binding[1], _direct(sub, TRANSFORM)
        for rel, col in binding[1]:
            contrib = rel.column(col)
            if contrib is None:
                self.ctx.unknown(f"column {col} not found in {rel.label}", rel.base_table, col, node)
            else:
                compose_into(acc, contrib, sub, masked)

    # -- resolution --------------------------------------------------------------------------

    def resolve(
        self,
        node: exp.Column,
        scope: Scope,
        clause: str,
        idx: int | None,
        expanding: frozenset = frozenset(),
        record: bool = True,
    ) -> Binding | None:
        name = node.name.lower()
        table = node.table.lower() if node.table else ""
        if table:
            found = self._qualified(node, name, table, scope, record)
            if found is not None or not record:
                return found
            self.ctx.unknown(f"unknown table or alias {table}", None, name, node)
            return None
        if clause == "order" and name in scope.aliases and name not in expanding:
            return ("alias", scope.aliases[name][1], name)
        s: Scope | None = scope
        while s is not None:
            if name in s.using:
                return ("rels", [(s.sources[a], name) for a in s.using[name]])
            known: list[Relation] = []
            unsure: list[Relation] = []
            for rel in s.sources.values():
                has = rel.has(name)
                if has:
                    known.append(rel)
                elif has is None:
                    unsure.append(rel)
            if len(known) == 1:
                return ("rels", [(known[0], name)])
            if known:
                if record:
                    labels = ", ".join(r.label for r in known)
                    self.ctx.unknown(f"ambiguous column {name} (in {labels})", None, name, node)
                return ("rels", [(r, name) for r in known])
            if s is scope and clause != "on" and name in s.aliases and name not in expanding:
                pos, expr = s.aliases[name]
                if clause != "select" or (idx is not None and pos < idx):
                    return ("alias", expr, name)
            if len(unsure) == 1:
                return ("rels", [(unsure[0], name)])
            if unsure:
                if record:
                    labels = ", ".join(r.label for r in unsure)
                    self.ctx.unknown(f"ambiguous column {name}: no catalog for {labels}", None, name, node)
                return None
            s = s.parent
        if record:
            labels = [r.base_table or r.label for r in scope.sources.values()]
            where = f"in {labels[0]}" if len(labels) == 1 else "in any source"
            self.ctx.unknown(
                f"column {name} not found {where}", labels[0] if len(labels) == 1 else None, name, node
            )
        return None

    def _qualified(
        self, node: exp.Column, name: str, table: str, scope: Scope, record: bool
    ) -> Binding | None:
        db = node.db.lower() if node.db else ""
        s: Scope | None = scope
        while s is not None:
            rel = s.sources.get(table)
            if rel is not None:
                if rel.has(name) is False:
                    if record:
                        self.ctx.unknown(
                            f"column {name} not found in {rel.label}", rel.base_table, name, node
                        )
                    return ("rels", [])
                return ("rels", [(rel, name)])
            if db and db in s.sources:  # tbl.struct_col.field
                return ("struct", ("rels", [(s.sources[db], table)]))
            s = s.parent
        # struct_col.field, written without the table alias
        inner = self.resolve(exp.column(table), scope, "where", None, record=False)
        if inner is not None and inner[0] == "rels" and inner[1]:
            return ("struct", inner)
        return None

    # -- base expressions (for row constraints) ----------------------------------------------

    def base_expr(self, expr: exp.Expr, scope: Scope, expanding: frozenset = frozenset()) -> exp.Expr | None:
        """``expr`` rewritten over base-table columns, or None if that is impossible."""
        for n in in_scope(expr):
            if isinstance(n, (exp.AggFunc, exp.Window, exp.Star)):
                return None
        new = expr.copy()
        cols = [n for n in in_scope(new) if isinstance(n, exp.Column)]
        for col in cols + _correlated(new, scope):
            binding = self.resolve(col, scope, "where", None, expanding, record=False)
            sub = self._binding_base(binding, scope, expanding)
            if sub is None:
                return None
            if col is new:
                new = sub.copy()
            else:
                col.replace(sub.copy())
        return new

    def _binding_base(self, binding: Binding | None, scope: Scope, expanding: frozenset) -> exp.Expr | None:
        if binding is None or binding[0] == "struct":
            return None
        if binding[0] == "alias":
            return self.base_expr(binding[1], scope, expanding | {binding[2]})
        bases = [rel.base(name) for rel, name in binding[1]]
        if not bases or any(b is None for b in bases):
            return None
        return bases[0] if len(bases) == 1 else exp.Coalesce(this=bases[0], expressions=bases[1:])
