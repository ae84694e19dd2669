"""Relations and scopes: what each name in a query stands for.

A *relation* is anything a FROM clause can read: a base table, a CTE, a derived
table, a view made earlier in the script, a table function. Each relation can say
which base-table columns feed each of its columns (a *contribution*: base column
and OpenLineage subtype, with a masking flag), which base columns decide which of
its rows exist (``dataset``), and which predicates all its rows satisfy.

A *scope* is one SELECT (or DML statement) with its visible relations, select
aliases and CTEs; correlated subqueries see their outer scopes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from sqlglot import exp

from purpose_lineage.core.model import ColumnRef, RowConstraint, Subtype
from purpose_lineage.core.sql_catalog import column_node

Key = tuple[ColumnRef, Subtype]
Contrib = dict[Key, bool]  # (source column, subtype) -> masked on every path

DIRECT_RANK = {Subtype.IDENTITY: 0, Subtype.TRANSFORMATION: 1, Subtype.AGGREGATION: 2}
BASE_REF = "pl_ref"  # meta key: the ColumnRef a substituted base column stands for


def merge(acc: Contrib, key: Key, masked: bool) -> None:
    """Add one contribution; an edge is masked only if every path to it is masked."""
    prev = acc.get(key)
    acc[key] = masked if prev is None else (prev and masked)


def merge_all(acc: Contrib, other: Contrib) -> None:
    for key, masked in other.items():
        merge(acc, key, masked)


def compose_into(acc: Contrib, inner: Contrib, sub: Subtype, masked: bool) -> None:
    """Add ``inner`` as used in a context of subtype ``sub``.

    An indirect use (filter, join key...) turns every source into that use; a direct
    use keeps the inner subtype when it is indirect, else takes the stronger of the two
    (identity < transformation < aggregation).
    """
    rank = DIRECT_RANK.get(sub)
    for (ref, isub), imask in inner.items():
        if rank is None:
            nsub = sub
        else:
            irank = DIRECT_RANK.get(isub)
            nsub = isub if irank is None or irank >= rank else sub
        merge(acc, (ref, nsub), imask or masked)


class Relation:
    """Something a FROM clause reads. Subclasses say how its columns are made."""

    label = "?"
    base_table: str | None = None  # the base/defined table, if this is one
    dataset: Contrib = {}

    def names(self) -> list[str] | None:
        """Column names in order, or None when they are not known."""
        return None

    def has(self, name: str) -> bool | None:
        names = self.names()
        return None if names is None else name in names

    def column(self, name: str) -> Contrib | None:
        """Contributions of column ``name``; None if the relation has no such column."""
        return None

    def base(self, name: str) -> exp.Expr | None:
        """Column ``name`` rewritten over base-table columns, for constraints."""
        return None

    def constraints(self) -> tuple[RowConstraint, ...]:
        return ()

    def reads(self) -> Counter[str]:
        """How many instances of each base table reach this relation's rows (self-joins count twice)."""
        return Counter()


class TableRel(Relation):
    """A base table, or a table or view created earlier in the same script."""

    def __init__(self, name: str, columns: tuple[str, ...] | None, definition: Relation | None = None):
        self.label = self.base_table = name
        self.cols = columns
        self.definition = definition

    def names(self) -> list[str] | None:
        return None if self.cols is None else list(self.cols)

    def has(self, name: str) -> bool | None:
        return None if self.cols is None else name in self.cols

    def column(self, name: str) -> Contrib | None:
        if self.cols is not None and name not in self.cols:
            return None
        return {(ColumnRef(self.label, name), Subtype.IDENTITY): False}

    def base(self, name: str) -> exp.Expr | None:
        if self.definition is not None:
            return self.definition.base(name)
        node = column_node(self.label, name)
        node.meta[BASE_REF] = f"{self.label}\x1f{name}"  # a str: copied fast with the node
        return node

    def constraints(self) -> tuple[RowConstraint, ...]:
        return self.definition.constraints() if self.definition is not None else ()

    def reads(self) -> Counter[str]:
        counts = Counter({self.label: 1})
        if self.definition is not None:
            counts.update(self.definition.reads())
        return counts


class OutCol:
    """One output column of a query: its contributions and (lazily) its base expression."""

    __slots__ = ("name", "contrib", "_base_fn", "_base", "_done")

    def __init__(self, name: str, contrib: Contrib, base_fn: Callable[[], exp.Expr | None] | None):
        self.name = name
        self.contrib = contrib
        self._base_fn = base_fn
        self._base: exp.Expr | None = None
        self._done = False

    def base(self) -> exp.Expr | None:
        if not self._done:
            self._done = True  # set first: a recursive CTE may ask for itself
            self._base = self._base_fn() if self._base_fn is not None else None
        return self._base


class QueryRel(Relation):
    """The result of a query: a CTE, derived table, subquery, view body or statement."""

    def __init__(self, label: str = "query"):
        self.label = label
        self.outs: list[OutCol] = []
        self.index: dict[str, OutCol] = {}
        self.open: list[Relation] = []  # stars over relations whose columns are unknown
        self.dataset: Contrib = {}
        self.semi: Contrib = {}  # correlated equality keys (EXISTS semi-join keys)
        self._constraints_fn: Callable[[], tuple[RowConstraint, ...]] | None = None
        self._constraints: tuple[RowConstraint, ...] | None = None
        self.read_counts: Counter[str] = Counter()

    def add(self, col: OutCol) -> None:
        self.outs.append(col)
        self.index.setdefault(col.name, col)

    def rename(self, names: Iterable[str]) -> None:
        """Apply column aliases, e.g. ``cte(a, b)`` or ``AS t(a, b)``."""
        for col, name in zip(self.outs, names, strict=False):
            col.name = name
        self.index = {}
        for col in self.outs:
            self.index.setdefault(col.name, col)

    def names(self) -> list[str] | None:
        return None if self.open else [c.name for c in self.outs]

    def has(self, name: str) -> bool | None:
        if name in self.index:
            return True
        return None if self.open else False

    def _open_for(self, name: str) -> list[Relation]:
        known = [r for r in self.open if r.has(name)]
        return known or [r for r in self.open if r.has(name) is None]

    def column(self, name: str) -> Contrib | None:
        col = self.index.get(name)
        if col is not None:
            return col.contrib
        rels = self._open_for(name)
        if not rels:
            return None
        acc: Contrib = {}
        for rel in rels:
            merge_all(acc, rel.column(name) or {})
        return acc

    def base(self, name: str) -> exp.Expr | None:
        col = self.index.get(name)
        if col is not None:
            return col.base()
        rels = self._open_for(name)
        return rels[0].base(name) if len(rels) == 1 else None

    def all_contrib(self) -> Contrib:
        """Everything the query reads, as used by an expression (scalar/IN/EXISTS subquery)."""
        acc: Contrib = {}
        for col in self.outs:
            merge_all(acc, col.contrib)
        for rel in self.open:
            for name in rel.names() or ():
                merge_all(acc, rel.column(name) or {})
        merge_all(acc, self.dataset)
        return acc

    def set_constraints(self, fn: Callable[[], tuple[RowConstraint, ...]]) -> None:
        self._constraints_fn = fn

    def reads(self) -> Counter[str]:
        return self.read_counts

    def constraints(self) -> tuple[RowConstraint, ...]:
        if self._constraints is None:
            self._constraints = ()  # guards recursion through recursive CTEs
            if self._constraints_fn is not None:
                self._constraints = self._constraints_fn()
        return self._constraints


class FuncRel(Relation):
    """UNNEST, LATERAL FLATTEN, VALUES and table functions: every column comes from the arguments."""

    def __init__(self, label: str, columns: list[str] | None, contrib: Contrib):
        self.label = label
        self.cols = columns
        self.contrib = contrib

    def names(self) -> list[str] | None:
        return self.cols

    def column(self, name: str) -> Contrib | None:
        if self.cols is not None and name not in self.cols:
            return None
        return dict(self.contrib)


class Scope:
    """One SELECT/DML level: its relations by alias, select aliases and CTEs."""

    def __init__(self, parent: Scope | None = None, lexical: Scope | None = None):
        self.parent = parent  # scope whose columns a correlated subquery may reference
        self.lexical = lexical  # enclosing scope, for CTE names
        self.sources: dict[str, Relation] = {}
        self.hidden: set[str] = set()  # semi/anti-joined: not in SELECT *
        self.using: dict[str, list[str]] = {}  # USING/NATURAL column -> aliases it merges
        self.aliases: dict[str, tuple[int, exp.Expr]] = {}  # select alias -> (position, expr)
        self.ctes: dict[str, Relation] = {}
        self.windows: dict[str, exp.Window] = {}

    def cte(self, name: str) -> Relation | None:
        scope: Scope | None = self
        while scope is not None:
            rel = scope.ctes.get(name)
            if rel is not None:
                return rel
            scope = scope.lexical
        return None

    def add_source(self, alias: str, rel: Relation) -> str:
        base, n = alias, 1
        while alias in self.sources:  # duplicate alias: keep both, the later one reachable only unqualified
            n += 1
            alias = f"{base}#{n}"
        self.sources[alias] = rel
        return alias


def source_reads(scope: Scope) -> Counter[str]:
    counts: Counter[str] = Counter()
    for rel in scope.sources.values():
        counts.update(rel.reads())
    return counts


def sound_constraints(constraints: Iterable[RowConstraint], reads: Counter[str]) -> tuple[RowConstraint, ...]:
    """Constraints on a table read more than once (self-join, CTE used twice) may hold for the
    other instance only, so they are dropped: failing closed."""
    return tuple(c for c in constraints if reads.get(c.column.table, 0) <= 1)


def base_refs(node: exp.Expr) -> list[ColumnRef]:
    """Base columns of a substituted expression (outside nested subqueries)."""
    refs: dict[ColumnRef, None] = {}
    for col in node.find_all(exp.Column):
        ref = col.meta.get(BASE_REF)
        if ref is not None:
            table, _, name = ref.partition("\x1f")
            refs[ColumnRef(table, name)] = None
    return list(refs)
