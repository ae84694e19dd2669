"""Queries: SELECT, set operations, CTEs and FROM items, each made into a :class:`~.sql_scope.QueryRel`.

Every clause is walked once with its role: ON (and USING/NATURAL keys) as JOIN,
WHERE/HAVING/QUALIFY as FILTER, GROUP BY and DISTINCT ON as GROUP_BY, ORDER BY as
SORT. Those row-level uses go to the query's ``dataset`` contributions; projections
become output columns. Row constraints are computed lazily, when asked for.
"""

from __future__ import annotations

from functools import partial

from sqlglot import exp

from purpose_lineage.core.model import RowConstraint, Subtype
from purpose_lineage.core.sql_catalog import table_parts
from purpose_lineage.core.sql_predicates import conjuncts, constraint_ok, in_scope, predicate_sql
from purpose_lineage.core.sql_scope import (
    Contrib,
    OutCol,
    QueryRel,
    Scope,
    base_refs,
    compose_into,
    merge_all,
    source_reads,
)
from purpose_lineage.core.sql_sources import SourceAnalyzer

_RECURSION_LIMIT = 6


class Analyzer(SourceAnalyzer):
    """Analyses queries of one statement; see :func:`purpose_lineage.core.lineage.analyze`."""

    def query(
        self, node: exp.Expr, lexical: Scope | None, outer: Scope | None = None, label: str = "query"
    ) -> QueryRel:
        while isinstance(node, exp.Subquery) and isinstance(node.this, exp.Expr):
            node = node.this
        if isinstance(node, exp.Select):
            return self.select(node, lexical, outer, label)
        if isinstance(node, exp.SetOperation):
            return self.setop(node, lexical, outer, label)
        if isinstance(node, exp.Values):
            return self.values(node, Scope(outer, lexical), label)
        self.ctx.unknown(f"unsupported query: {node.key}")
        return QueryRel(label)

    # -- CTEs --------------------------------------------------------------------------------

    def ctes(self, node: exp.Expr, scope: Scope) -> None:
        with_ = node.args.get("with_")
        if with_ is None:
            return
        for cte in with_.expressions:
            name = cte.alias.lower()
            columns = [c.name.lower() for c in cte.args["alias"].columns] if cte.args.get("alias") else []
            body = cte.this
            if with_.args.get("recursive") and _reads(body, name):
                rel = self._recursive(body, name, columns, scope)
            else:
                rel = self.query(body, scope, None, name)
                if columns:
                    rel.rename(columns)
            scope.ctes[name] = rel

    def _recursive(self, body: exp.Expr, name: str, columns: list[str], scope: Scope) -> QueryRel:
        """A recursive CTE is the fixpoint of its body, starting from its anchor branch."""
        anchor = body
        while isinstance(anchor, exp.SetOperation):
            anchor = anchor.this
        rel = self.query(anchor, scope, None, name)
        if columns:
            rel.rename(columns)
        for _ in range(_RECURSION_LIMIT):
            scope.ctes[name] = rel
            nxt = self.query(body, scope, None, name)
            if columns:
                nxt.rename(columns)
            if _same(rel, nxt):
                return nxt
            rel = nxt
        return rel

    # -- SELECT ------------------------------------------------------------------------------

    def select(self, sel: exp.Select, lexical: Scope | None, outer: Scope | None, label: str) -> QueryRel:
        scope = Scope(outer, lexical)
        self.ctes(sel, scope)
        rel = QueryRel(label)
        nullable: set[str] = set()
        joins = list(sel.args.get("joins") or ())
        inner_ons: list[exp.Expr] = []
        order: list[str] = []
        frm = sel.args.get("from_")
        if frm is not None:
            order.append(self.source(frm.this, scope))
            if isinstance(frm.this, exp.Table) and frm.this.args.get("joins"):
                joins = [*frm.this.args["joins"], *joins]  # FROM (a JOIN b ON ...)
        self.add_joins(joins, scope, order, nullable, inner_ons, rel.dataset)
        for lateral in sel.args.get("laterals") or ():
            self.source(lateral, scope)
        for rel_ in scope.sources.values():
            merge_all(rel.dataset, rel_.dataset)

        for i, proj in enumerate(sel.expressions):
            if isinstance(proj, exp.Alias):
                scope.aliases.setdefault(proj.alias.lower(), (i, proj.this))
        for win in sel.args.get("windows") or ():
            scope.windows[win.name.lower()] = win

        self._clauses(sel, scope, joins, rel.dataset)
        if outer is not None:
            self._correlation(sel, scope, rel)
        self._projections(sel, scope, rel)
        rel.set_constraints(partial(self._select_constraints, sel, scope, inner_ons, nullable))
        rel.read_counts = source_reads(scope)
        return rel

    def add_joins(
        self,
        joins: list[exp.Join],
        scope: Scope,
        order: list[str],
        nullable: set[str],
        inner_ons: list[exp.Expr],
        dataset: Contrib,
    ) -> None:
        """Add joined items in order, noting which become nullable and which ON clauses hold."""
        for join in joins:
            alias = self.source(join.this, scope)
            side, kind = (join.side or "").upper(), (join.kind or "").upper()
            if side in ("RIGHT", "FULL"):
                nullable.update(order)
            if side in ("LEFT", "FULL"):
                nullable.add(alias)
            if kind in ("SEMI", "ANTI"):
                scope.hidden.add(alias)
            elif not side and join.args.get("on") is not None:
                inner_ons.append(join.args["on"])
            self._join_keys(join, alias, order, scope, dataset)
            order.append(alias)

    def _clauses(self, sel: exp.Select, scope: Scope, joins: list[exp.Join], dataset: Contrib) -> None:
        for join in joins:
            if join.args.get("on") is not None:
                self.walk(join.args["on"], scope, Subtype.JOIN, dataset, "on")
        if sel.args.get("where") is not None:
            self.walk(sel.args["where"], scope, Subtype.FILTER, dataset, "where")
        group = sel.args.get("group")
        if group is not None:
            if group.args.get("all"):
                for proj in sel.expressions:
                    if not any(isinstance(n, exp.AggFunc) for n in in_scope(proj)):
                        self.walk(proj, scope, Subtype.GROUP_BY, dataset, "group")
            for item in group.expressions:
                self.walk(_positional(item, sel), scope, Subtype.GROUP_BY, dataset, "group")
            for key in ("grouping_sets", "cube", "rollup"):
                for item in group.args.get(key) or ():
                    self.walk(item, scope, Subtype.GROUP_BY, dataset, "group")
        for key in ("having", "qualify"):
            if sel.args.get(key) is not None:
                self.walk(sel.args[key], scope, Subtype.FILTER, dataset, key)
        if sel.args.get("order") is not None:
            for item in sel.args["order"].expressions:
                self.walk(_positional(item.this, sel), scope, Subtype.SORT, dataset, "order")
        distinct = sel.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            self.walk(distinct.args["on"], scope, Subtype.GROUP_BY, dataset, "order")

    def _join_keys(
        self, join: exp.Join, alias: str, before: list[str], scope: Scope, dataset: Contrib
    ) -> None:
        """USING and NATURAL joins: the shared columns are JOIN keys and merge into one."""
        using = [u.name.lower() for u in join.args.get("using") or ()]
        right = scope.sources[alias]
        if (join.method or "").upper() == "NATURAL":
            right_names = right.names()
            left_names = [n for a in before for n in (scope.sources[a].names() or [])]
            if right_names is None or any(scope.sources[a].names() is None for a in before):
                self.ctx.unknown("NATURAL JOIN without a catalog: join keys unknown", right.base_table)
                return
            using = [n for n in right_names if n in left_names]
        for name in using:
            lefts = [a for a in before if scope.sources[a].has(name) is not False]
            known = [a for a in lefts if scope.sources[a].has(name)]
            lefts = known or lefts
            if len(lefts) != 1:
                self.ctx.unknown(f"USING column {name}: left side ambiguous", None, name)
            merged = scope.using.get(name) or lefts
            scope.using[name] = [*merged, alias]
            for a in scope.using[name]:
                contrib = scope.sources[a].column(name)
                if contrib is None:
                    self.ctx.unknown(
                        f"column {name} not found in {scope.sources[a].label}",
                        scope.sources[a].base_table,
                        name,
                    )
                else:
                    compose_into(dataset, contrib, Subtype.JOIN, False)

    def _correlation(self, sel: exp.Select, scope: Scope, rel: QueryRel) -> None:
        """Equalities between this subquery and an outer query are semi-join keys (EXISTS)."""
        where = sel.args.get("where")
        for cond in conjuncts(where.this if where is not None else None):
            if not isinstance(cond, exp.EQ):
                continue
            sides = [cond.this, cond.expression]
            local = [self._is_local(s, scope) for s in sides]
            if local[0] != local[1] and all(loc is not None for loc in local):
                for side in sides:
                    self.walk(side, scope, Subtype.JOIN, rel.semi, "where")

    def _is_local(self, node: exp.Expr, scope: Scope) -> bool | None:
        cols = [c for c in in_scope(node) if isinstance(c, exp.Column)]
        if not cols:
            return None
        for col in cols:
            table = col.table.lower() if col.table else ""
            if table and table not in scope.sources:
                return False
            if not table and not any(r.has(col.name.lower()) is not False for r in scope.sources.values()):
                return False
        return True

    def _projections(self, sel: exp.Select, scope: Scope, rel: QueryRel) -> None:
        for i, proj in enumerate(sel.expressions):
            if isinstance(proj, exp.Star):
                self._star(proj, None, scope, rel)
            elif isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star):
                self._star(proj.this, proj.table.lower(), scope, rel)
            else:
                acc: Contrib = {}
                self.walk(proj, scope, Subtype.IDENTITY, acc, "select", i)
                name = (proj.alias_or_name or f"_col_{i}").lower()
                rel.add(OutCol(name, acc, partial(self.base_expr, proj.unalias(), scope)))

    def _star(self, star: exp.Star, table: str | None, scope: Scope, rel: QueryRel) -> None:
        excluded = {c.name.lower() for c in star.args.get("except_") or ()}
        replaced = {a.alias.lower(): a.this for a in star.args.get("replace") or ()}
        renamed = {a.this.name.lower(): a.alias.lower() for a in star.args.get("rename") or ()}
        if table:
            if table not in scope.sources:
                self.ctx.unknown(f"unknown table or alias {table} in {table}.*", None, "*")
                return
            aliases = [table]
        else:
            aliases = [a for a in scope.sources if a not in scope.hidden]
        seen: set[str] = set()
        for alias in aliases:
            src = scope.sources[alias]
            names = src.names()
            if names is None:
                rel.open.append(src)
                continue
            for name in names:
                if name in excluded or (not table and name in seen and name in scope.using):
                    continue
                seen.add(name)
                if name in replaced:
                    acc: Contrib = {}
                    self.walk(replaced[name], scope, Subtype.TRANSFORMATION, acc, "select")
                    rel.add(OutCol(name, acc, None))
                    continue
                owners = scope.using.get(name) if not table and name in scope.using else [alias]
                acc = {}
                for owner in owners:
                    merge_all(acc, scope.sources[owner].column(name) or {})
                base = partial(scope.sources[owners[0]].base, name) if len(owners) == 1 else None
                rel.add(OutCol(renamed.get(name, name), acc, base))

    def _select_constraints(
        self, sel: exp.Select, scope: Scope, inner_ons: list[exp.Expr], nullable: set[str]
    ) -> tuple[RowConstraint, ...]:
        conds: list[exp.Expr] = []
        for key in ("where", "having", "qualify"):
            if sel.args.get(key) is not None:
                conds.extend(conjuncts(sel.args[key].this))
        for on in inner_ons:
            conds.extend(conjuncts(on))
        out: dict[RowConstraint, None] = {}
        for cond in conds:
            if not constraint_ok(cond):
                continue
            base = self.base_expr(cond, scope)
            if base is None:
                continue
            text = predicate_sql(base)
            for ref in base_refs(base):
                out[RowConstraint(ref, text)] = None
        for alias, src in scope.sources.items():
            if alias not in nullable and alias not in scope.hidden:
                out.update(dict.fromkeys(src.constraints()))
        return tuple(out)

    # -- set operations, VALUES --------------------------------------------------------------

    def setop(
        self, node: exp.SetOperation, lexical: Scope | None, outer: Scope | None, label: str
    ) -> QueryRel:
        scope = Scope(outer, lexical)
        self.ctes(node, scope)
        left = self.query(node.this, scope, outer, label)
        right = self.query(node.expression, scope, outer, label)
        rel = QueryRel(label)
        merge_all(rel.dataset, left.dataset)
        merge_all(rel.dataset, right.dataset)
        merge_all(rel.semi, left.semi)
        merge_all(rel.semi, right.semi)
        if isinstance(node, exp.Except):  # the right branch only removes rows: an anti-join
            rel.dataset = dict(left.dataset)
            compose_into(rel.dataset, right.all_contrib(), Subtype.FILTER, False)
            for col in right.outs:
                compose_into(rel.dataset, col.contrib, Subtype.JOIN, False)
            rel.open = list(left.open)
            for col in left.outs:
                rel.add(OutCol(col.name, dict(col.contrib), None))
        elif left.open or right.open:
            rel.open = [left, right]
        elif node.args.get("by_name"):
            for col in left.outs:
                acc = dict(col.contrib)
                other = right.index.get(col.name)
                merge_all(acc, other.contrib if other is not None else {})
                rel.add(OutCol(col.name, acc, None))
            for col in right.outs:
                if col.name not in rel.index:
                    rel.add(OutCol(col.name, dict(col.contrib), None))
        else:
            if len(left.outs) != len(right.outs):
                self.ctx.unknown(
                    f"{node.key.upper()} branches have {len(left.outs)} and {len(right.outs)} columns"
                )
            for i, col in enumerate(left.outs):
                acc = dict(col.contrib)
                if i < len(right.outs):
                    merge_all(acc, right.outs[i].contrib)
                rel.add(OutCol(col.name, acc, None))
        if node.args.get("order") is not None:
            for item in node.args["order"].expressions:
                key = item.this
                col = None
                if isinstance(key, exp.Literal) and key.is_int and 0 < int(key.name) <= len(rel.outs):
                    col = rel.outs[int(key.name) - 1]
                elif isinstance(key, exp.Column):
                    col = rel.index.get(key.name.lower())
                if col is not None:
                    compose_into(rel.dataset, col.contrib, Subtype.SORT, False)
                else:
                    self.ctx.unknown("ORDER BY of a set operation not resolved")
        rel.set_constraints(partial(_setop_constraints, node, left, right))
        rel.read_counts = left.reads() | right.reads()  # a row comes from one branch: max, not sum
        return rel


def _positional(node: exp.Expr, sel: exp.Select) -> exp.Expr:
    """``GROUP BY 1`` / ``ORDER BY 2`` refer to projections."""
    if isinstance(node, exp.Literal) and node.is_int:
        pos = int(node.name)
        if 0 < pos <= len(sel.expressions):
            return sel.expressions[pos - 1].unalias()
    return node


def _reads(node: exp.Expr, name: str) -> bool:
    return any(len(table_parts(t)) == 1 and t.name.lower() == name for t in node.find_all(exp.Table))


def _same(a: QueryRel, b: QueryRel) -> bool:
    return [(c.name, c.contrib) for c in a.outs] == [
        (c.name, c.contrib) for c in b.outs
    ] and a.dataset == b.dataset


def _setop_constraints(node: exp.SetOperation, left: QueryRel, right: QueryRel) -> tuple[RowConstraint, ...]:
    lc, rc = left.constraints(), right.constraints()
    if isinstance(node, exp.Intersect):
        return tuple(dict.fromkeys((*lc, *rc)))
    if isinstance(node, exp.Except):
        return lc
    right_set = set(rc)
    return tuple(c for c in lc if c in right_set)
