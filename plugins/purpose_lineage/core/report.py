"""Render violations as text or Markdown for logs, alerts and pull-request comments.

Only metadata is rendered (table and column names, keys, edge kinds): a :class:`Violation`
holds no data values, and edge descriptions (SQL fragments that may hold literals) are
never part of a path.
"""

from __future__ import annotations

from collections.abc import Sequence

from purpose_lineage.core.model import Hop, Violation


def render_path(violation: Violation) -> str:
    """The path from the tagged source to the sink, one arrow per hop.

    >>> from purpose_lineage.core.model import Hop, Violation
    >>> v = Violation("r", "ad_audience_acme", "user_id", "users_2fa", "phone_number",
    ...     "essential.service.security", "user.contact.phone_number",
    ...     (Hop("users_2fa", "phone_number"), Hop("h", "phone_sha", "DIRECT/TRANSFORMATION", masked=True),
    ...      Hop("ad_audience_acme", "user_id", "INDIRECT/JOIN")))
    >>> print(render_path(v))
    users_2fa.phone_number [essential.service.security] -DIRECT/TRANSFORMATION(masked)-> h.phone_sha \
-INDIRECT/JOIN-> ad_audience_acme.user_id
    """
    hops = violation.path or (
        Hop(violation.source, violation.source_column),
        Hop(violation.sink, violation.sink_column, "?"),
    )
    parts = [f"{_name(hops[0])} [{violation.purpose}]"]
    for hop in hops[1:]:
        parts.append(f"-{hop.edge or '?'}{'(masked)' if hop.masked else ''}-> {_name(hop)}")
    return " ".join(parts)


def render_text(violations: Sequence[Violation]) -> str:
    """A plain-text report: one headline and one path per violation.

    >>> render_text([])
    'No purpose violations.'
    """
    if not violations:
        return "No purpose violations."
    lines = [f"{len(violations)} purpose violation{'s' if len(violations) != 1 else ''}:"]
    for v in violations:
        lines.append(f"- {_headline(v)} (rule {v.rule})")
        lines.append(f"    {render_path(v)}")
    return "\n".join(lines)


def render_markdown(violations: Sequence[Violation]) -> str:
    """A Markdown report (alerts, PR comments); names are in code spans.

    >>> render_markdown([])
    '**No purpose violations.**'
    """
    if not violations:
        return "**No purpose violations.**"
    n = len(violations)
    lines = [f"### {n} purpose violation{'s' if n != 1 else ''}", ""]
    for v in violations:
        lines.append(
            f"- **{_code(v.rule)}**: {_code(v.category)} collected for {_code(v.purpose)} "
            f"reaches {_code(_sink(v))}"
        )
        lines.append(f"  {_code(render_path(v))}")
    return "\n".join(lines)


def _headline(v: Violation) -> str:
    return f"{v.category} collected for {v.purpose} reaches {_sink(v)}"


def _sink(v: Violation) -> str:
    return f"{v.sink}.{v.sink_column}" if v.sink_column is not None else v.sink


def _name(hop: Hop) -> str:
    return f"{hop.table}.{hop.column}" if hop.column is not None else hop.table


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"
