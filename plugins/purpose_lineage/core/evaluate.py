"""Find the flows a policy forbids: tagged columns reaching sinks whose use their purpose denies.

Shared by the guard (at run time), the operators and the static ``check`` command. For each
rule, every seed tag the rule applies to is walked over the edges that rule counts; each
sink table reached whose use the rule denies is one :class:`Violation`, with the shortest
path, unless a consent exception exempts it.

Consent: a flow into a sink is exempt only when the statement producing the sink carries a
:class:`RowConstraint` on the exception's consent column (same table, same column) whose
predicate really restricts rows to the consent value: ``c``, ``c = TRUE``, ``c IS TRUE``,
``c IN (TRUE)``, ``COALESCE(c, FALSE)``, and AND/OR combinations where every OR branch
does. ``c = TRUE OR TRUE`` or a constraint on another table never counts.

Unknowns (unresolved lineage) are wildcard arcs (see :mod:`propagate`); a path through one
is a violation unless ``allow_unknown`` (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from purpose_lineage.core.model import (
    ColumnRef,
    Edge,
    RowConstraint,
    StatementLineage,
    Tag,
    Unknown,
    Violation,
    normalize_table,
)
from purpose_lineage.core.policy import ConsentException, Policy, Rule, Sink
from purpose_lineage.core.propagate import Graph, Walk, ref_key, seeds


def find_violations(
    tags: Iterable[Tag],
    edges: Iterable[Edge] | Graph,
    policy: Policy,
    *,
    constraints: Mapping[str, Sequence[RowConstraint]] | None = None,
    unknowns: Iterable[Unknown] = (),
    allow_unknown: bool = False,
) -> list[Violation]:
    """Every forbidden flow, one per (rule, source tag, sink table), sorted.

    Args:
        tags: declared/detected source tags (propagated ones are ignored and recomputed).
        edges: lineage edges of all statements (or a prebuilt :class:`Graph`, whose unknowns are used).
        policy: the loaded policy.
        constraints: row constraints of the statement producing each table, keyed by table name.
        unknowns: unresolved lineage, placed at a table (see :func:`place_unknowns`).
        allow_unknown: ignore paths through unknowns instead of failing closed.

    >>> from purpose_lineage.core.model import Subtype
    >>> from purpose_lineage.core.policy import load_policy
    >>> phone = ColumnRef("users_2fa", "phone_number")
    >>> tag = Tag(phone, "user.contact.phone_number", "essential.service.security")
    >>> edge = Edge(phone, ColumnRef("ad_audience_acme", None), Subtype.JOIN)
    >>> [(v.rule, v.sink, v.edge_kinds) for v in find_violations([tag], [edge], load_policy())]
    [('security-contact-never-to-ads', 'ad_audience_acme', ('INDIRECT/JOIN',))]
    """
    graph = edges if isinstance(edges, Graph) else Graph.build(edges, unknowns)
    by_table = {normalize_table(t): tuple(cs) for t, cs in (constraints or {}).items()}
    base = seeds(tags)
    sinks_of: dict[str, tuple[Sink, ...]] = {}
    violations: list[Violation] = []
    walks: dict[tuple, Walk] = {}  # rules that count the same edges share walks
    for rule in policy.rules:
        denied_in: dict[str, list[Sink]] = {}  # table -> sinks whose use this rule denies
        for tag in base:
            if not rule.applies_to(policy.taxonomy, tag.category, tag.purpose):
                continue
            key = (tag.column, rule.edge_kinds, rule.safe_aggregations)
            if key not in walks:
                walks[key] = graph.walk(tag.column, rule.counts_kind, with_unknowns=not allow_unknown)
            walk = walks[key]
            done: set[str] = set()
            for table, column in walk.nodes():
                if table in done:
                    continue
                if table not in denied_in:
                    if table not in sinks_of:
                        sinks_of[table] = policy.sinks_for(table)
                    denied_in[table] = [s for s in sinks_of[table] if rule.denies_use(policy.taxonomy, s.use)]
                denied = denied_in[table]
                if not denied:
                    continue
                done.add(table)
                if all(_exempt(policy, s, rule, by_table.get(table, ())) for s in denied):
                    continue
                violations.append(
                    Violation(
                        rule.name,
                        table,
                        column,
                        tag.column.table,
                        tag.column.column,
                        tag.purpose,
                        tag.category,
                        walk.path((table, column)),
                    )
                )
    return sorted(violations, key=_order)


def _order(v: Violation) -> tuple:
    return (v.rule, v.sink, ref_key(ColumnRef(v.source, v.source_column)), v.category, v.purpose)


def _exempt(policy: Policy, sink: Sink, rule: Rule, constraints: Sequence[RowConstraint]) -> bool:
    return any(consent_holds(exc, constraints) for exc in policy.exceptions_for(sink.name, rule.name))


def consent_holds(exception: ConsentException, constraints: Sequence[RowConstraint]) -> bool:
    """True when one of ``constraints`` restricts rows to ``exception.column = exception.equals``.

    >>> from purpose_lineage.core.policy import ConsentException
    >>> exc = ConsentException("opt-in", ("lookup",), ColumnRef("users", "discoverable_by_phone"))
    >>> col = ColumnRef("users", "discoverable_by_phone")
    >>> consent_holds(exc, [RowConstraint(col, "users.discoverable_by_phone = TRUE")])
    True
    >>> consent_holds(exc, [RowConstraint(col, "users.discoverable_by_phone = TRUE OR TRUE")])
    False
    >>> other = ColumnRef("contacts", "discoverable_by_phone")  # same column name, another table
    >>> consent_holds(exc, [RowConstraint(other, "discoverable_by_phone")])
    False
    """
    want = exception.column
    for constraint in constraints:
        got = constraint.column
        if got.column is None or got.column.lower() != (want.column or "").lower():
            continue
        if not _same_table(got.table, want.table):
            continue
        if predicate_constrains(constraint.predicate, got.column, exception.equals):
            return True
    return False


def _same_table(actual: str, declared: str) -> bool:
    """``main.users`` is the declared ``users``; a qualified declaration must match in full."""
    a, d = normalize_table(actual), normalize_table(declared)
    return a == d or ("." not in d and a.rsplit(".", 1)[-1] == d)


def predicate_constrains(predicate: str, column: str, equals: bool | int | str = True) -> bool:
    """True when every row satisfying ``predicate`` has ``column = equals``.

    >>> predicate_constrains("u.discoverable_by_phone IS TRUE", "discoverable_by_phone")
    True
    >>> predicate_constrains("NOT u.discoverable_by_phone", "discoverable_by_phone")
    False
    >>> predicate_constrains("consent = 'yes' AND age > 16", "consent", "yes")
    True
    """
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(predicate)
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, ValueError):
        return False  # unparseable: constrains nothing (fail closed)
    name = column.lower()

    def is_col(e: exp.Expression) -> bool:
        return isinstance(e, exp.Column) and e.name.lower() == name

    def is_value(e: exp.Expression) -> bool:
        if isinstance(equals, bool):
            return isinstance(e, exp.Boolean) and e.this is equals
        if isinstance(equals, int):
            return isinstance(e, exp.Literal) and not e.is_string and e.this == str(equals)
        return isinstance(e, exp.Literal) and e.is_string and e.this == equals

    def holds(e: exp.Expression) -> bool:
        e = e.unnest()
        if isinstance(e, exp.And):
            return holds(e.left) or holds(e.right)
        if isinstance(e, exp.Or):
            return holds(e.left) and holds(e.right)
        if equals is True and (is_col(e) or _coalesce_false(e, is_col)):
            return True
        if isinstance(e, exp.EQ | exp.Is):
            left, right = e.left.unnest(), e.right.unnest()
            return (is_col(left) and is_value(right)) or (is_col(right) and is_value(left))
        if isinstance(e, exp.In) and is_col(e.this) and e.expressions and not e.args.get("query"):
            return all(is_value(v.unnest()) for v in e.expressions)
        return False

    return holds(tree)


def _coalesce_false(e: object, is_col) -> bool:
    from sqlglot import exp

    if not isinstance(e, exp.Coalesce) or not is_col(e.this):
        return False
    rest = e.expressions
    return len(rest) == 1 and isinstance(rest[0], exp.Boolean) and rest[0].this is False


def place_unknowns(statements: Iterable[StatementLineage]) -> list[Unknown]:
    """Unknowns of ``statements``, each placed at its statement's output and given its inputs,
    so that :func:`find_violations` can fail closed on them.

    >>> s = StatementLineage(0, "INSERT INTO ad_audience_x SELECT f(*) FROM users_2fa", "ad_audience_x",
    ...                      ("users_2fa",), unknowns=(Unknown("unsupported function f"),))
    >>> place_unknowns([s])
    [Unknown(reason='unsupported function f', table='ad_audience_x', column=None, statement=0, line=None, \
inputs=('users_2fa',))]
    """
    out = []
    for st in statements:
        for unknown in st.unknowns:
            out.append(
                replace(
                    unknown,
                    # the analyser names the table it could not resolve (e.g. the input of a
                    # ``SELECT *``); what matters for the policy is where it may flow: the output
                    table=st.output or unknown.table,
                    statement=unknown.statement if unknown.statement is not None else st.index,
                    inputs=tuple(dict.fromkeys((*(unknown.inputs or st.inputs), *_own(unknown, st)))),
                )
            )
    return out


def _own(unknown: Unknown, st: StatementLineage) -> tuple[str, ...]:
    return (unknown.table,) if unknown.table and unknown.table != st.output else ()


def constraints_by_table(statements: Iterable[StatementLineage]) -> dict[str, list[RowConstraint]]:
    """Row constraints keyed by the table each statement writes (for ``find_violations``).

    When several statements write a table, a constraint counts only if every one of them has
    it, since rows from the others are unconstrained.

    >>> c = RowConstraint(ColumnRef("users", "discoverable_by_phone"), "users.discoverable_by_phone")
    >>> both = [StatementLineage(0, "", "phone_lookup", constraints=(c,)),
    ...         StatementLineage(1, "", "phone_lookup")]
    >>> constraints_by_table(both)
    {'phone_lookup': []}
    """
    per_table: dict[str, list[tuple[RowConstraint, ...]]] = {}
    for st in statements:
        if st.output:
            per_table.setdefault(normalize_table(st.output), []).append(st.constraints)
    out = {}
    for table, groups in per_table.items():
        common = [c for c in groups[0] if all(c in g for g in groups[1:])]
        out[table] = common
    return out
