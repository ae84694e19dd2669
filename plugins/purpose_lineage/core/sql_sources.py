"""FROM items: tables, CTE references, derived tables, LATERAL, UNNEST, VALUES, table functions.

Each FROM/JOIN item becomes a :class:`~.sql_scope.Relation` under its alias. Table
functions that only reshape their arguments (``unnest``, ``flatten``, ``explode``,
``generate_series``) take their columns from the arguments; functions that read
files or URLs (``read_csv``...) are reported as unknowns.
"""

from __future__ import annotations

from functools import partial

from sqlglot import exp

from purpose_lineage.core.model import Subtype
from purpose_lineage.core.sql_catalog import table_parts
from purpose_lineage.core.sql_expr import TRANSFORM, ExprWalker
from purpose_lineage.core.sql_scope import (
    Contrib,
    FuncRel,
    OutCol,
    QueryRel,
    Relation,
    Scope,
    compose_into,
)

# Table functions that only reshape their arguments (as opposed to reading files or URLs).
GENERATORS = frozenset(
    {
        "generate_series",
        "range",
        "unnest",
        "generate_array",
        "generate_date_array",
        "sequence",
        "generate_timestamp_array",
        "explode",
        "explode_outer",
        "posexplode",
        "inline",
        "flatten",
        "json_each",
        "jsonb_each",
        "json_tree",
        "json_array_elements",
        "jsonb_array_elements",
        "split_to_table",
        "string_split",
        "regexp_split_to_table",
        "json_table",
    }
)


class SourceAnalyzer(ExprWalker):
    """FROM items; the subclass (:class:`~.sql_walk.Analyzer`) analyses queries."""

    def values(self, node: exp.Values, scope: Scope, label: str) -> QueryRel:
        rel = QueryRel(label)
        rows = node.expressions
        width = len(rows[0].expressions) if rows and isinstance(rows[0], exp.Tuple) else 1
        alias = node.args.get("alias")
        names = [c.name.lower() for c in alias.columns] if alias is not None and alias.columns else []
        for i in range(width):
            acc: Contrib = {}
            for row in rows:
                items = row.expressions if isinstance(row, exp.Tuple) else [row]
                if i < len(items):
                    self.walk(items[i], scope, Subtype.IDENTITY, acc, "select")
            rel.add(OutCol(names[i] if i < len(names) else f"column{i + 1}", acc, None))
        return rel

    # -- FROM items --------------------------------------------------------------------------

    def source(self, node: exp.Expr, scope: Scope) -> str:
        """Add one FROM/JOIN item to ``scope``; returns its alias."""
        alias_node = node.args.get("alias")
        alias = node.alias.lower() if node.alias else ""
        columns = (
            [c.name.lower() for c in alias_node.columns] if isinstance(alias_node, exp.TableAlias) else []
        )
        rel: Relation
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Func):
            rel = self._table_function(node.this, _func_name(node.this), columns, scope, alias)
        elif isinstance(node, exp.Table):
            parts = table_parts(node)
            cte = scope.cte(parts[0]) if len(parts) == 1 else None
            rel = cte if cte is not None else self.ctx.table(node)
            alias = alias or parts[-1]
            if node.args.get("pivots"):  # every column may feed every pivoted column: fail closed
                self.ctx.unknown(
                    "PIVOT/UNPIVOT not analysed: columns of its result are unknown", rel.base_table
                )
                everything: Contrib = {}
                for name in rel.names() or ():
                    compose_into(everything, rel.column(name) or {}, TRANSFORM, False)
                pivot = QueryRel(alias)
                pivot.open = [FuncRel(f"PIVOT of {rel.label}", None, everything)]
                rel = pivot
        elif isinstance(node, exp.Subquery):
            rel = self.query(node.this, scope, None, alias or "subquery")
        elif isinstance(node, exp.Lateral):
            inner = node.this
            if isinstance(inner, (exp.Subquery, exp.Query)):
                rel = self.query(inner, scope, scope, alias or "lateral")
            else:
                name = _func_name(inner) if isinstance(inner, exp.Func) else "lateral"
                rel = self._table_function(inner, name, columns, scope, alias, generator=True)
        elif isinstance(node, exp.Unnest):
            if not alias and columns:
                alias = columns[0]  # BigQuery: UNNEST(arr) AS x names both the source and its column
            offset = node.args.get("offset")
            if isinstance(offset, exp.Expr) and offset.name:
                columns = [*columns, offset.name.lower()]
            rel = self._table_function(node, "unnest", columns, scope, alias, generator=True)
        elif isinstance(node, exp.Values):
            rel = self.values(node, scope, alias or "values")
        else:
            self.ctx.unknown(f"unsupported FROM item: {node.key}")
            rel = FuncRel(alias or node.key, None, {})
        if columns and isinstance(rel, QueryRel) and not isinstance(node, exp.Values):
            rel.rename(columns)
        elif columns and not isinstance(rel, (QueryRel, FuncRel)):
            rel = _renamed(rel, columns)
        return scope.add_source(alias or rel.label, rel)

    def _table_function(
        self, func: exp.Expr, name: str, columns: list[str], scope: Scope, alias: str, generator: bool = False
    ) -> FuncRel:
        acc: Contrib = {}
        self.walk(func, scope, TRANSFORM, acc, "select")
        if not generator and name not in GENERATORS:
            self.ctx.unknown(f"table function {name}: what it reads is not traced", alias or name)
        return FuncRel(alias or name, columns or None, acc)


def _func_name(func: exp.Expr) -> str:
    return (func.name if isinstance(func, exp.Anonymous) else func.sql_name()).lower()


def _renamed(rel: Relation, columns: list[str]) -> QueryRel:
    """``FROM t AS x(a, b)``: t's columns under new names, by position."""
    out = QueryRel(rel.label)
    names = rel.names()
    if names is None:
        out.open = [rel]
        return out
    for new, old in zip(columns, names, strict=False):
        out.add(OutCol(new, rel.column(old) or {}, partial(rel.base, old)))
    out.set_constraints(rel.constraints)
    out.read_counts = rel.reads()
    return out
