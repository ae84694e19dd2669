"""The purpose policy: which data, collected for which purposes, may not reach which uses.

A policy is a YAML file (schema: ``policy.schema.json`` beside this module) with
``rules`` (deny data categories x source purposes -> sink uses, over chosen edge kinds),
``sinks`` (table names or glob patterns and the data use they serve), ``consent_exceptions``
(a flow into a sink is allowed when its rows are filtered by a consent column) and
``taxonomy`` extensions (custom fideslang keys under existing parents).

:func:`load_policy` returns frozen dataclasses or raises :class:`PolicyError` listing every
problem at once, each as ``file:line: where: what; did you mean 'x'?``. The YAML is read in
``policy_yaml.py``; nothing runs with a broken policy.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, normalize_table
from purpose_lineage.core.taxonomy import Taxonomy, default_taxonomy

if TYPE_CHECKING:
    from collections.abc import Iterable

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.yaml")
SCHEMA_PATH = Path(__file__).with_name("policy.schema.json")

#: Source purpose sentinel: the purpose is not declared or not a taxonomy key. Fail closed.
UNKNOWN_PURPOSE = "unknown"

#: Edge kinds as policies spell them, from :attr:`Subtype.policy_name`.
EDGE_KINDS: tuple[str, ...] = tuple(dict.fromkeys(s.policy_name for s in Subtype))

#: Aggregates whose result is a number or a truth value, never an input value: a rule may
#: declare them safe, so that they end a purpose.
SAFE_AGGREGATE_CANDIDATES: frozenset[str] = frozenset(
    {
        "count", "count_if", "approx_count_distinct", "approx_distinct", "sum", "avg", "mean",
        "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp",
        "bool_and", "bool_or", "corr", "covar_pop", "covar_samp",
    }
)  # fmt: skip

#: Aggregates that return (or collect) input values: they can never end a purpose.
VALUE_AGGREGATES: frozenset[str] = frozenset(
    {
        "min", "max", "any_value", "arbitrary", "first", "first_value", "last", "last_value",
        "array_agg", "list", "string_agg", "group_concat", "listagg", "mode", "median",
        "percentile_disc", "quantile_disc", "json_agg", "jsonb_agg", "json_group_array",
        "collect_list", "collect_set", "histogram", "arg_min", "arg_max", "min_by", "max_by",
    }
)  # fmt: skip

_FUNCTION_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")


def aggregate_function(edge: Edge) -> str | None:
    """The aggregate an AGGREGATION edge applies, read from its ``description``.

    The lineage analyser writes the aggregate expression (``COUNT(DISTINCT phone)``) or
    just its name there. ``None`` when unknown, which never counts as safe.

    >>> from purpose_lineage.core.model import ColumnRef, Edge, Subtype
    >>> src, dst = ColumnRef("t", "phone"), ColumnRef("s", "n")
    >>> aggregate_function(Edge(src, dst, Subtype.AGGREGATION, description="COUNT(DISTINCT t.phone)"))
    'count'
    >>> aggregate_function(Edge(src, dst, Subtype.AGGREGATION)) is None
    True
    """
    if edge.subtype is not Subtype.AGGREGATION or not edge.description:
        return None
    match = _FUNCTION_RE.match(edge.description)
    return match.group(1).lower() if match else None


@dataclass(frozen=True)
class Sink:
    """Tables (names or globs, matched case-insensitively) that serve one data use.

    A pattern without a dot matches the last part of a table name (``ad_audience_*``
    matches ``analytics.ad_audience_acme``); a dotted pattern matches the whole name.
    """

    name: str
    tables: tuple[str, ...]
    use: str
    line: int = 0
    table_lines: tuple[int, ...] = field(default=(), compare=False, repr=False)

    @cached_property
    def _regexes(self) -> tuple[tuple[bool, re.Pattern[str]], ...]:
        return tuple(("." in p, re.compile(fnmatch.translate(p.lower()))) for p in self.tables)

    def matches(self, table: str) -> bool:
        """True when ``table`` is one of this sink's tables.

        >>> Sink("ads", ("ad_audience_*",), "marketing.advertising").matches('Analytics."AD_AUDIENCE_acme"')
        True
        """
        full = normalize_table(table)
        last = full.rsplit(".", 1)[-1]
        return any(rx.match(full if dotted else last) for dotted, rx in self._regexes)


@dataclass(frozen=True)
class Rule:
    """Deny ``data_categories`` collected for ``source_purposes`` from reaching ``sink_uses``.

    Only edges whose kind is in ``edge_kinds`` carry a purpose for this rule; an AGGREGATION
    edge whose function is in ``safe_aggregations`` ends it. Masking (hashing) never does.
    """

    name: str
    data_categories: tuple[str, ...]
    source_purposes: tuple[str, ...]
    sink_uses: tuple[str, ...]
    edge_kinds: frozenset[str] = frozenset(EDGE_KINDS)
    safe_aggregations: frozenset[str] = frozenset()
    description: str = ""
    line: int = 0

    def counts(self, edge: Edge) -> bool:
        """True when ``edge`` carries a purpose under this rule.

        >>> from purpose_lineage.core.model import ColumnRef, Edge, Subtype
        >>> rule = Rule("r", ("user",), ("essential",), ("marketing",), safe_aggregations={"count"})
        >>> a, b = ColumnRef("t", "phone"), ColumnRef("s", "x")
        >>> rule.counts(Edge(a, b, Subtype.TRANSFORMATION, masking=True))
        True
        >>> rule.counts(Edge(a, b, Subtype.AGGREGATION, description="count(phone)"))
        False
        """
        return self.counts_kind(edge.subtype.policy_name, aggregate_function(edge))

    def counts_kind(self, kind: str, aggregate: str | None = None) -> bool:
        """:meth:`counts` from an edge's policy kind and aggregate function (the graph's fast path)."""
        return kind in self.edge_kinds and (aggregate is None or aggregate not in self.safe_aggregations)

    def applies_to(self, taxonomy: Taxonomy, category: str, purpose: str) -> bool:
        """True when a tag ``(category, purpose)`` is denied by this rule somewhere.

        A purpose that is not a taxonomy key counts as ``unknown``, and a category that is not
        a key is matched by its dotted prefix (both fail closed).

        >>> ads = load_policy().rules[0]
        >>> tax = load_policy().taxonomy
        >>> ads.applies_to(tax, "user.contact.phone_number", "essential.service.security")
        True
        >>> ads.applies_to(tax, "user.contact.phone_number.mobile", "no.such.purpose")
        True
        >>> ads.applies_to(tax, "user.contact.email", "marketing.advertising.first_party.targeted")
        False
        """
        known = taxonomy.has("data_category", category)
        if not any(
            taxonomy.covers("data_category", c, category) if known else category.startswith(c + ".")
            for c in self.data_categories
        ):
            return False
        if purpose == UNKNOWN_PURPOSE or not taxonomy.has("data_use", purpose):
            return UNKNOWN_PURPOSE in self.source_purposes
        return any(
            taxonomy.covers("data_use", p, purpose) for p in self.source_purposes if p != UNKNOWN_PURPOSE
        )

    def denies_use(self, taxonomy: Taxonomy, use: str) -> bool:
        """True when ``use`` is one of ``sink_uses`` or lies below one.

        >>> load_policy().rules[0].denies_use(default_taxonomy(), "marketing.advertising.first_party")
        True
        """
        return any(taxonomy.covers("data_use", u, use) for u in self.sink_uses)


@dataclass(frozen=True)
class ConsentException:
    """Flows into ``sinks`` are allowed (for ``rules``; empty means all) when the rows are
    constrained by ``column`` being ``equals`` (e.g. ``users.discoverable_by_phone = true``)."""

    name: str
    sinks: tuple[str, ...]
    column: ColumnRef
    equals: bool | int | str = True
    rules: tuple[str, ...] = ()
    line: int = 0
    column_line: int = field(default=0, compare=False, repr=False)

    def covers(self, sink: str, rule: str) -> bool:
        return sink in self.sinks and (not self.rules or rule in self.rules)


@dataclass(frozen=True)
class Policy:
    """A validated policy. Build it with :func:`load_policy`."""

    rules: tuple[Rule, ...]
    sinks: tuple[Sink, ...]
    consent_exceptions: tuple[ConsentException, ...] = ()
    taxonomy: Taxonomy = field(default_factory=default_taxonomy, compare=False, repr=False)
    source: str = "<policy>"
    version: int = 1

    def sinks_for(self, table: str) -> tuple[Sink, ...]:
        """The sinks ``table`` belongs to.

        >>> [s.name for s in load_policy().sinks_for("ad_audience_acme")]
        ['ad_audiences']
        """
        return tuple(s for s in self.sinks if s.matches(table))

    def exceptions_for(self, sink: str, rule: str) -> tuple[ConsentException, ...]:
        return tuple(e for e in self.consent_exceptions if e.covers(sink, rule))

    def edge_kinds(self) -> frozenset[str]:
        """Edge kinds counted by at least one rule."""
        return frozenset().union(*(r.edge_kinds for r in self.rules))

    def counts(self, edge: Edge) -> bool:
        """True when some rule lets ``edge`` carry a purpose (used to propagate tags)."""
        return any(r.counts(edge) for r in self.rules)

    def counts_kind(self, kind: str, aggregate: str | None = None) -> bool:
        return any(r.counts_kind(kind, aggregate) for r in self.rules)


@dataclass(frozen=True)
class Problem:
    """One finding in a policy file."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def check_policy(path: str | Path | None = None) -> tuple[Policy | None, list[Problem]]:
    """Read a policy, returning it (``None`` when broken) and every problem found.

    >>> policy, problems = check_policy()
    >>> problems, [r.name for r in policy.rules][:1]
    ([], ['security-contact-never-to-ads'])
    """
    from purpose_lineage.core.policy_yaml import read_policy

    path = Path(path) if path is not None else DEFAULT_POLICY_PATH
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        return None, [Problem(name, 0, f"cannot read policy file: {type(exc).__name__}: {why}")]
    return read_policy(text, name)


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate a policy file; ``None`` means the policy shipped in the package.

    Raises:
        PolicyError: listing every problem, each with file, line and nearest valid key.

    >>> policy = load_policy()
    >>> [s.use for s in policy.sinks_for("phone_lookup")]
    ['functional.service.contact_discovery']
    """
    from purpose_lineage.errors import PolicyError

    policy, problems = check_policy(path)
    if problems or policy is None:
        raise PolicyError([str(p) for p in problems])
    return policy


def validate_against_tables(policy: Policy, tables: Iterable[str]) -> list[Problem]:
    """Sink patterns that match none of ``tables`` (a catalog of known tables), and consent
    columns on tables the catalog lacks. An empty list means every pattern found a table.

    >>> validate_against_tables(load_policy(), ["ad_audience_acme", "phone_lookup", "users"])
    []
    """
    known = [normalize_table(t) for t in tables]
    lasts = {t.rsplit(".", 1)[-1] for t in known}
    problems = []
    for sink in policy.sinks:
        lines = sink.table_lines or (sink.line,) * len(sink.tables)
        for pattern, line in zip(sink.tables, lines, strict=True):
            if not any(Sink(sink.name, (pattern,), sink.use).matches(t) for t in known):
                problems.append(
                    Problem(
                        policy.source,
                        line,
                        f"sink {sink.name!r}: table pattern {pattern!r} matches no known table"
                        + _near_table(pattern, lasts),
                    )
                )
    for exc in policy.consent_exceptions:
        table = normalize_table(exc.column.table)
        if table not in known and table.rsplit(".", 1)[-1] not in lasts:
            problems.append(
                Problem(
                    policy.source,
                    exc.column_line or exc.line,
                    f"consent exception {exc.name!r}: table {exc.column.table!r} of consent column "
                    f"{str(exc.column)!r} is not a known table" + _near_table(table, lasts),
                )
            )
    return problems


def _near_table(pattern: str, known: Iterable[str]) -> str:
    import difflib

    stem = pattern.rsplit(".", 1)[-1].replace("*", "").replace("?", "").strip("_")
    hits = difflib.get_close_matches(stem, sorted(known), n=1, cutoff=0.5)
    return f"; did you mean {hits[0]!r}?" if hits else ""
