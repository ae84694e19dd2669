"""Predicates: AND-conjuncts, which of them constrain every row, and their canonical text.

A row constraint's predicate is compared as text by the policy engine, so it must not
depend on how the author wrote it: ``IS NOT NULL`` is spelled one way whatever the
dialect, tables inside subqueries are named by their table name rather than the author's
alias, and literals that look like contact identifiers are redacted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp

from purpose_lineage.core.sql_scope import BASE_REF

_NEGATABLE = (exp.Is, exp.In, exp.Like, exp.ILike, exp.Between, exp.Exists, exp.SimilarTo, exp.RegexpLike)


def conjuncts(node: exp.Expr | None) -> list[exp.Expr]:
    out: list[exp.Expr] = []
    stack = [node] if node is not None else []
    while stack:
        cur = stack.pop()
        if isinstance(cur, exp.Paren) and isinstance(cur.this, exp.And):
            stack.append(cur.this)
        elif isinstance(cur, exp.And):
            stack.extend((cur.expression, cur.this))
        else:
            out.append(cur)
    return out


def in_scope(node: exp.Expr) -> Iterator[exp.Expr]:
    """Nodes of ``node`` outside nested queries."""
    return node.walk(prune=lambda n: isinstance(n, exp.Query) and n is not node)


# Literals that look like contact identifiers (emails, phone numbers) never leave the analyser.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")  # an address; a LIKE '%@domain' pattern is not
_PHONE = re.compile(r"\+?[\d ().-]{7,}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T][\d:.]+)?")
REDACTED = "<redacted>"


def _identifier_like(text: str) -> bool:
    if _EMAIL.search(text):
        return True
    digits = sum(ch.isdigit() for ch in text)
    return digits >= 7 and _PHONE.fullmatch(text.strip()) is not None and not _DATE.fullmatch(text.strip())


def predicate_sql(node: exp.Expr) -> str:
    """Canonical text of a base predicate, the same whatever dialect it was written in.

    Literals that look like emails or phone numbers are replaced by ``'<redacted>'``.
    """

    def canon(n: exp.Expr) -> exp.Expr:
        if isinstance(n, exp.Not) and isinstance(n.this, exp.Is) and not n.this.args.get("negate"):
            return exp.Is(this=n.this.this, expression=n.this.expression, negate=True)
        if isinstance(n, exp.Literal) and _identifier_like(n.name):
            return exp.Literal.string(REDACTED) if n.is_string else exp.Literal.number(0)
        return n

    node = node.transform(canon, copy=False)
    _canonical_aliases(node)
    return node.sql()


def _canonical_aliases(node: exp.Expr) -> None:
    """Subqueries in a predicate name their tables, not the aliases the author chose.

    An inner table whose name an outer query already uses gets a suffix (``orders_2``), so
    that a correlated reference to the outer table stays distinguishable.
    """
    taken = {
        str(c.meta[BASE_REF]).partition("\x1f")[0].rsplit(".", 1)[-1]
        for c in node.find_all(exp.Column)
        if BASE_REF in c.meta
    }
    counter = 0
    for select in list(node.find_all(exp.Select)):
        renames: dict[str, str] = {}
        for source in select.find_all(exp.Table, exp.Subquery):
            if source.find_ancestor(exp.Select) is not select or not source.alias_or_name:
                continue
            if isinstance(source, exp.Table) and not isinstance(source.this, exp.Func):
                base = source.name.lower()
                new, n = base, 1
                while new in taken:
                    n += 1
                    new = f"{base}_{n}"
            else:
                counter += 1
                new = f"_q{counter}"
            taken.add(new)
            renames[source.alias_or_name.lower()] = new
            if isinstance(source, exp.Table) and new == source.name.lower():
                source.set("alias", None)
            else:
                source.set("alias", exp.TableAlias(this=exp.to_identifier(new)))
        for col in select.find_all(exp.Column):
            table = col.table.lower() if col.table else ""
            if table in renames:
                col.set("table", exp.to_identifier(renames[table]))


def constraint_ok(node: exp.Expr) -> bool:
    """A conjunct states something about every row: no OR, no NOT over a condition, no aggregate."""
    for n in in_scope(node):
        if isinstance(n, (exp.Or, exp.Xor, exp.AggFunc, exp.Window)):
            return False
        if isinstance(n, exp.Not) and not isinstance(n.this, _NEGATABLE):
            return False
    return True
