"""Read a policy from YAML text, collecting every problem with its line.

The text is composed into YAML nodes (not loaded) so that each value keeps its line, and
duplicate keys, which a plain load silently merges, are caught. Each problem names the
file, the line, where in the policy it is, and the nearest valid key or field.

PyYAML is imported here, lazily, and only by :func:`purpose_lineage.core.policy.check_policy`.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from purpose_lineage.core.model import ColumnRef, normalize_table
from purpose_lineage.core.policy import (
    EDGE_KINDS,
    SAFE_AGGREGATE_CANDIDATES,
    UNKNOWN_PURPOSE,
    VALUE_AGGREGATES,
    ConsentException,
    Policy,
    Problem,
    Rule,
    Sink,
)
from purpose_lineage.core.taxonomy import KINDS, Kind, Taxonomy, default_taxonomy

TOP_FIELDS = ("version", "description", "taxonomy", "sinks", "rules", "consent_exceptions")
CUSTOM_KEY_FIELDS = ("parent", "description")
SINK_FIELDS = ("name", "description", "tables", "use")
RULE_FIELDS = (
    "name", "description", "data_categories", "source_purposes", "sink_uses", "edge_kinds",
    "safe_aggregations",
)  # fmt: skip
CONSENT_FIELDS = ("name", "description", "sinks", "rules", "column", "equals")
SUPPORTED_VERSIONS = (1,)

_PART = r"(?:[A-Za-z0-9_$*?\-]|\[!?[A-Za-z0-9_$\-]+\])+"
_PATTERN_RE = re.compile(rf"{_PART}(?:\.{_PART})*")
_KEY_RE = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")
_COLUMN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)+")
_TYPE_NAMES = {
    "str": "a string",
    "int": "an integer",
    "bool": "a boolean",
    "null": "null",
    "float": "a number",
}


def read_policy(text: str, filename: str = "<string>") -> tuple[Policy | None, list[Problem]]:
    """Parse and validate policy YAML; the policy is ``None`` unless there are no problems.

    >>> policy, problems = read_policy("rulez: []", "p.yaml")
    >>> policy, [str(p) for p in problems]  # doctest: +NORMALIZE_WHITESPACE
    (None, ["p.yaml:1: unknown field 'rulez'; did you mean 'rules'?",
            "p.yaml:1: missing required field 'sinks'"])
    """
    return _Reader(filename).read(text)


class _Reader:
    def __init__(self, filename: str):
        import yaml

        self.yaml = yaml
        self.file = filename
        self.problems: list[Problem] = []
        self.ctor = yaml.constructor.SafeConstructor()
        self.key_of: dict[int, Any] = {}  # id(value node) -> its key node, for key-level findings

    # -- reporting and typed access -------------------------------------------------
    def err(self, node: Any, where: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(Problem(self.file, line, f"{where}: {message}" if where else message))

    def type_name(self, node: Any) -> str:
        """``a list``, ``a string 'join'`` ...: the YAML type, with the value of a short scalar."""
        if isinstance(node, self.yaml.MappingNode):
            return "a mapping"
        if isinstance(node, self.yaml.SequenceNode):
            return "a list"
        name = _TYPE_NAMES.get(node.tag.rsplit(":", 1)[-1], "a value")
        return name if name == "null" or len(node.value) > 40 else f"{name} {node.value!r}"

    def is_scalar(self, node: Any, kind: str) -> bool:
        return isinstance(node, self.yaml.ScalarNode) and node.tag == f"tag:yaml.org,2002:{kind}"

    def mapping(
        self, node: Any, where: str, fields: tuple[str, ...] | None, required: tuple[str, ...] = ()
    ) -> dict[str, Any] | None:
        """Fields of a mapping node by name; ``fields=None`` accepts any (string) key."""
        if not isinstance(node, self.yaml.MappingNode):
            self.err(node, where, f"expected a mapping, got {self.type_name(node)}")
            return None
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key, value in node.value:
            if not self.is_scalar(key, "str"):
                self.err(key, where, f"field names must be strings, got {self.type_name(key)}")
                continue
            name = key.value
            if name in first_line:
                self.err(key, where, f"duplicate field {name!r} (first on line {first_line[name]})")
                continue
            first_line[name] = key.start_mark.line + 1
            if fields is not None and name not in fields:
                self.err(key, where, f"unknown field {name!r}" + _hint(name, fields))
                continue
            out[name] = value
            self.key_of[id(value)] = key
        misspelled = {_nearest(k, fields) for k in first_line if fields is not None and k not in fields}
        for name in required:
            if name not in out and name not in first_line and name not in misspelled:
                self.err(node, where, f"missing required field {name!r}")
        return out

    def string(self, node: Any, where: str) -> str | None:
        if not self.is_scalar(node, "str") or not node.value.strip():
            got = "an empty string" if self.is_scalar(node, "str") else self.type_name(node)
            self.err(node, where, f"expected a non-empty string, got {got}")
            return None
        return node.value.strip()

    def strings(self, node: Any, where: str) -> list[tuple[str, Any]]:
        if not isinstance(node, self.yaml.SequenceNode):
            self.err(node, where, f"expected a list of strings, got {self.type_name(node)}")
            return []
        if not node.value:
            self.err(node, where, "expected a non-empty list of strings, got an empty list")
            return []
        out = []
        for i, item in enumerate(node.value):
            text = self.string(item, f"{where}[{i}]")
            if text is not None:
                out.append((text, item))
        return out

    def items(self, node: Any, where: str, *, required: str = "") -> list[Any]:
        if node is None:
            return []
        if not isinstance(node, self.yaml.SequenceNode):
            self.err(node, where, f"expected a list, got {self.type_name(node)}")
            return []
        if required and not node.value:
            self.err(node, where, f"expected at least one {required}, got an empty list")
        return list(node.value)

    # -- the policy -------------------------------------------------------------------
    def read(self, text: str) -> tuple[Policy | None, list[Problem]]:
        try:
            try:  # libyaml when present: a task loads the policy each run
                root = self.yaml.compose(text, Loader=getattr(self.yaml, "CSafeLoader", self.yaml.SafeLoader))
            except self.yaml.YAMLError:  # the pure-Python parser words the error (line, context)
                root = self.yaml.compose(text, Loader=self.yaml.SafeLoader)
        except self.yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            what = ": ".join(
                str(p) for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p
            )
            line = mark.line + 1 if mark is not None else 1
            return None, [Problem(self.file, line, f"malformed YAML: {what or exc}")]
        if root is None:
            return None, [
                Problem(self.file, 1, "policy is empty; expected a mapping with 'sinks' and 'rules'")
            ]
        top = self.mapping(root, "", TOP_FIELDS, ("sinks", "rules"))
        if top is None:
            return None, sorted(self.problems, key=lambda p: p.line)
        version = self.version(top.get("version"))
        taxonomy = self.taxonomy(top.get("taxonomy"))
        sinks = self.sinks(top.get("sinks"), taxonomy)
        rules = self.rules(top.get("rules"), taxonomy)
        exceptions = self.consent(top.get("consent_exceptions"), sinks, rules)
        if self.problems:
            return None, sorted(self.problems, key=lambda p: p.line)
        return Policy(tuple(rules), tuple(sinks), tuple(exceptions), taxonomy, self.file, version), []

    def version(self, node: Any) -> int:
        if node is None:
            return 1
        if not self.is_scalar(node, "int"):
            self.err(node, "version", f"expected an integer, got {self.type_name(node)}")
            return 1
        value = int(node.value)
        if value not in SUPPORTED_VERSIONS:
            self.err(node, "version", f"unsupported version {value}; expected 1")
        return value

    def taxonomy(self, node: Any) -> Taxonomy:
        base = default_taxonomy()
        if node is None:
            return base
        kinds = self.mapping(node, "taxonomy", KINDS, ())
        if not kinds:
            return base
        additions: dict[Kind, dict[str, tuple[str, Any]]] = {}
        for kind in KINDS:
            entries = kinds.get(kind)
            if entries is None:
                continue
            body = self.mapping(entries, f"taxonomy.{kind}", None)
            additions[kind] = {}
            for key, value in (body or {}).items():
                where = f"taxonomy.{kind}[{key!r}]"
                fields = self.mapping(value, where, CUSTOM_KEY_FIELDS, ("parent",))
                self.description((fields or {}).get("description"), f"{where}.description")
                if not _KEY_RE.fullmatch(key):
                    self.err(
                        self.key_of.get(id(value)),
                        where,
                        "custom keys are dotted words of letters, digits, _",
                    )
                    continue
                if key == UNKNOWN_PURPOSE or base.has(kind, key):
                    self.err(
                        self.key_of.get(id(value)), where, f"custom {_label(kind)} {key!r} already exists"
                    )
                    continue
                parent = (
                    self.string(fields["parent"], f"{where}.parent")
                    if fields and "parent" in fields
                    else None
                )
                if parent is not None:
                    additions[kind][key] = (parent, fields["parent"])
        tax = base
        for kind, entries in additions.items():
            resolvable = {}
            for key, (parent, pnode) in entries.items():
                where = f"taxonomy.{kind}[{key!r}].parent"
                if not base.has(kind, parent) and parent not in entries:
                    choices = sorted(base.keys(kind) | set(entries))
                    self.err(pnode, where, f"unknown parent {parent!r}" + _hint(parent, choices, True))
                elif not key.startswith(parent + "."):
                    self.err(pnode, where, f"custom key {key!r} must start with its parent {parent + '.'!r}")
                else:
                    resolvable[key] = parent
            tax = tax.extended(kind, resolvable)
        return tax

    def key(
        self, node: Any, where: str, kind: Kind, taxonomy: Taxonomy, *, allow_unknown: bool = False
    ) -> str:
        text = self.string(node, where)
        if text is None:
            return ""
        if allow_unknown and text == UNKNOWN_PURPOSE:
            return text
        if not taxonomy.has(kind, text):
            self.err(
                node,
                where,
                f"unknown {_label(kind)} {text!r}" + _hint(text, sorted(taxonomy.keys(kind)), True),
            )
        return text

    def keys(self, node: Any, where: str, kind: Kind, tax: Taxonomy, *, allow_unknown: bool = False) -> tuple:
        if node is None:
            return ()
        out = []
        for i, (_, item) in enumerate(self.strings(node, where)):
            out.append(self.key(item, f"{where}[{i}]", kind, tax, allow_unknown=allow_unknown))
        return tuple(out)

    def sinks(self, node: Any, taxonomy: Taxonomy) -> list[Sink]:
        sinks: list[Sink] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(self.items(node, "sinks", required="sink")):
            body = self.mapping(item, f"sinks[{i}]", SINK_FIELDS, ("name", "tables", "use"))
            if body is None:
                continue
            name = self.unique_name(body.get("name"), f"sinks[{i}]", "sink", seen)
            where = f"sinks[{i}]"
            tables, lines = [], []
            for j, (pattern, pnode) in enumerate(
                self.strings(body["tables"], f"{where}.tables") if "tables" in body else []
            ):
                why = _pattern_problem(pattern)
                if why:
                    self.err(pnode, f"{where}.tables[{j}]", f"invalid table pattern {pattern!r}: {why}")
                tables.append(pattern.lower())
                lines.append(pnode.start_mark.line + 1)
            use = self.key(body["use"], f"{where}.use", "data_use", taxonomy) if "use" in body else ""
            sinks.append(Sink(name or "", tuple(tables), use, item.start_mark.line + 1, tuple(lines)))
        return sinks

    def rules(self, node: Any, taxonomy: Taxonomy) -> list[Rule]:
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(self.items(node, "rules", required="rule")):
            required = ("name", "data_categories", "source_purposes", "sink_uses")
            body = self.mapping(item, f"rules[{i}]", RULE_FIELDS, required)
            if body is None:
                continue
            name = self.unique_name(body.get("name"), f"rules[{i}]", "rule", seen)
            where = f"rules[{i}]"
            rules.append(
                Rule(
                    name=name or "",
                    data_categories=self.keys(
                        body.get("data_categories"), f"{where}.data_categories", "data_category", taxonomy
                    ),
                    source_purposes=self.keys(
                        body.get("source_purposes"),
                        f"{where}.source_purposes",
                        "data_use",
                        taxonomy,
                        allow_unknown=True,
                    ),
                    sink_uses=self.keys(body.get("sink_uses"), f"{where}.sink_uses", "data_use", taxonomy),
                    edge_kinds=self.edge_kinds(body.get("edge_kinds"), f"{where}.edge_kinds"),
                    safe_aggregations=self.aggregates(
                        body.get("safe_aggregations"), f"{where}.safe_aggregations"
                    ),
                    description=self.description(body.get("description"), f"{where}.description"),
                    line=item.start_mark.line + 1,
                )
            )
        return rules

    def edge_kinds(self, node: Any, where: str) -> frozenset[str]:
        if node is None or (self.is_scalar(node, "str") and node.value == "all"):
            return frozenset(EDGE_KINDS)
        if not isinstance(node, self.yaml.SequenceNode):
            self.err(node, where, f"expected 'all' or a list of edge kinds, got {self.type_name(node)}")
            return frozenset(EDGE_KINDS)
        kinds = set()
        for j, (kind, knode) in enumerate(self.strings(node, where)):
            if kind not in EDGE_KINDS:
                self.err(knode, f"{where}[{j}]", f"unknown edge kind {kind!r}" + _hint(kind, EDGE_KINDS))
            kinds.add(kind)
        return frozenset(kinds)

    def aggregates(self, node: Any, where: str) -> frozenset[str]:
        if node is None:
            return frozenset()
        if isinstance(node, self.yaml.SequenceNode) and not node.value:
            return frozenset()
        out = set()
        for j, (name, anode) in enumerate(self.strings(node, where)):
            fn = name.lower()
            if fn in VALUE_AGGREGATES:
                self.err(
                    anode,
                    f"{where}[{j}]",
                    f"aggregate {name!r} returns input values and cannot end a purpose",
                )
            elif fn not in SAFE_AGGREGATE_CANDIDATES:
                self.err(
                    anode,
                    f"{where}[{j}]",
                    f"unknown aggregate {name!r}" + _hint(fn, sorted(SAFE_AGGREGATE_CANDIDATES)),
                )
            out.add(fn)
        return frozenset(out)

    def description(self, node: Any, where: str) -> str:
        if node is None:
            return ""
        return self.string(node, where) or ""

    def unique_name(self, node: Any, where: str, what: str, seen: dict[str, int]) -> str | None:
        if node is None:
            return None
        name = self.string(node, f"{where}.name")
        if name is None:
            return None
        line = node.start_mark.line + 1
        if name in seen:
            self.err(node, f"{where}.name", f"duplicate {what} name {name!r} (first on line {seen[name]})")
        else:
            seen[name] = line
        return name

    def consent(self, node: Any, sinks: list[Sink], rules: list[Rule]) -> list[ConsentException]:
        sink_names = [s.name for s in sinks if s.name]
        rule_names = [r.name for r in rules if r.name]
        out: list[ConsentException] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(self.items(node, "consent_exceptions")):
            body = self.mapping(item, f"consent_exceptions[{i}]", CONSENT_FIELDS, ("name", "sinks", "column"))
            if body is None:
                continue
            name = self.unique_name(body.get("name"), f"consent_exceptions[{i}]", "consent exception", seen)
            where = f"consent_exceptions[{i}]"
            self.description(body.get("description"), f"{where}.description")
            refs = {}
            for field_name, what, names in (("sinks", "sink", sink_names), ("rules", "rule", rule_names)):
                refs[field_name] = []
                if field_name not in body:
                    continue
                for j, (ref, rnode) in enumerate(self.strings(body[field_name], f"{where}.{field_name}")):
                    if ref not in names:
                        self.err(
                            rnode,
                            f"{where}.{field_name}[{j}]",
                            f"undeclared {what} {ref!r}" + _hint(ref, names),
                        )
                    refs[field_name].append(ref)
            column = self.column(body.get("column"), f"{where}.column")
            equals = self.equals(body.get("equals"), f"{where}.equals")
            out.append(
                ConsentException(
                    name or "",
                    tuple(refs["sinks"]),
                    column,
                    equals,
                    tuple(refs["rules"]),
                    item.start_mark.line + 1,
                    body["column"].start_mark.line + 1 if "column" in body else 0,
                )
            )
        return out

    def column(self, node: Any, where: str) -> ColumnRef:
        text = self.string(node, where) if node is not None else None
        if text is None:
            return ColumnRef("", "")
        if not _COLUMN_RE.fullmatch(text):
            self.err(
                node, where, f"expected 'table.column' (e.g. 'users.discoverable_by_phone'), got {text!r}"
            )
            return ColumnRef("", "")
        table, col = text.rsplit(".", 1)
        return ColumnRef(normalize_table(table), col.lower())

    def equals(self, node: Any, where: str) -> bool | int | str:
        if node is None:
            return True
        if any(self.is_scalar(node, k) for k in ("bool", "int", "str")):
            return self.ctor.construct_object(node)
        self.err(node, where, f"expected a boolean, integer or string, got {self.type_name(node)}")
        return True


def _label(kind: str) -> str:
    return kind.replace("_", " ")


def _nearest(word: str, choices: Any) -> str | None:
    hits = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return hits[0] if hits else None


def _hint(word: str, choices: Any, taxonomy: bool = False) -> str:
    choices = list(choices)
    hit = _nearest(word, choices)
    if hit:
        return f"; did you mean {hit!r}?"
    if taxonomy:
        return "; run 'purpose-lineage taxonomy' to list the keys"
    if choices and len(choices) <= 12:
        return "; expected one of " + ", ".join(repr(c) for c in choices)
    return ""


def _pattern_problem(pattern: str) -> str | None:
    """Why a table pattern is invalid, or ``None``.

    >>> _pattern_problem("ad_[audience"), _pattern_problem("ad_audience_*")
    ("unclosed '['", None)
    """
    if pattern.count("[") != pattern.count("]"):
        return "unclosed '['" if pattern.count("[") > pattern.count("]") else "unmatched ']'"
    if ".." in pattern or pattern.startswith(".") or pattern.endswith("."):
        return "empty name part"
    if not _PATTERN_RE.fullmatch(pattern):
        bad = sorted({c for c in pattern if not (c.isalnum() or c in "_$*?-.[]!")})
        return f"unexpected characters {''.join(bad)!r}" if bad else "malformed character class"
    return None
