"""Fuzz the policy loader: mutated YAML gives a Policy or a PolicyError whose every problem is
``file:line: message``, never another exception.

Mutations start from the shipped policy (core/default_policy.yaml): lines deleted, duplicated,
swapped or re-indented, tokens replaced with YAML syntax (anchors, aliases, tags, flow
brackets, tabs) or random text.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from fuzz_support import count, fuzz_settings, mutated
from hypothesis import given
from hypothesis import strategies as st

import purpose_lineage.core as core_pkg
from purpose_lineage.core.policy import Policy, load_policy
from purpose_lineage.core.policy_yaml import read_policy
from purpose_lineage.errors import PolicyError

DEFAULT = (Path(core_pkg.__file__).parent / "default_policy.yaml").read_text()
LINES = DEFAULT.splitlines(keepends=True)
YAML_WORDS = [
    ":", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "!!python/object:os.system ", "!!binary ", "!!int ",
    "|", ">-", "\t", "  ", "\n", "#", "'", '"', "? ", "---\n", "...\n", "~", "null", "true", "1e999",
    "0x1f", "version", "sinks", "rules", "tables", "use", "edge_kinds", "all", "unknown", "marketing",
    "essential.service.security", "user.contact", "ad_audience*", "[!a]", "**", "\u00e9", "\ufeff",
]  # fmt: skip
PROBLEM_RE = re.compile(r"^fuzz\.yaml:\d+: \S")


@st.composite
def line_mutations(draw) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(("delete", "duplicate", "swap", "indent", "dedent")))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = draw(st.sampled_from((" ", "  ", "\t", "    "))) + lines[i]
        else:
            lines[i] = lines[i].lstrip(" ")
        if not lines:
            break
    return "".join(lines)


policies = line_mutations() | mutated(st.just(DEFAULT), YAML_WORDS, max_mutations=4)


def _check(policy, problems) -> None:
    if policy is not None:
        assert isinstance(policy, Policy) and problems == []
    else:
        assert problems, "a rejected policy must say why"
        for p in problems:
            assert PROBLEM_RE.match(str(p)), str(p)


@fuzz_settings(500)
@given(text=policies)
def test_mutated_policy_reads_to_a_policy_or_located_problems(text: str):
    count("policy.read_policy")
    _check(*read_policy(text, "fuzz.yaml"))


@fuzz_settings(200)
@given(text=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_random_text_reads_to_a_policy_or_located_problems(text: str):
    count("policy.random_text")
    _check(*read_policy(text, "fuzz.yaml"))


@fuzz_settings(150)
@given(data=policies | st.binary(max_size=200).map(lambda b: b.decode("latin-1")), raw=st.binary(max_size=64))
def test_load_policy_raises_only_policy_error(data: str, raw: bytes):
    count("policy.load_policy")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.yaml"
        path.write_bytes(data.encode("utf-8", "surrogatepass") + raw)
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            assert exc.problems
            for p in exc.problems:
                assert p.startswith(f"{path}:") and re.match(r"\d+: ", p[len(str(path)) + 1 :]), p
        else:
            assert isinstance(policy, Policy)


def test_the_unmutated_policy_loads():
    count("policy.read_policy")
    policy, problems = read_policy(DEFAULT, "fuzz.yaml")
    assert problems == [] and policy is not None
