"""The docs' code samples run, so that they cannot rot.

A fenced block in ``docs/**/*.md`` is executed when the line before its opening fence is an
HTML comment ``<!-- test ... -->`` (invisible on the site). Words in the comment:

- (nothing)      ```python: run (consecutive Python samples share an interpreter, each
                 with fresh globals); ```yaml: validated as a purpose
                 policy with ``purpose-lineage validate-policy``; ```console/```bash: every
                 ``purpose-lineage ...`` line (``$ `` prompt optional) is run;
- ``file=PATH``  write the block to PATH in the page's working folder instead (a YAML file
                 written so is still validated when it is a policy, see ``policy``);
- ``policy``     with ``file=``: also validate the file as a policy;
- ``exit=N``     the exit code every command of a shell block must return (default 0);
- ``expect=TEXT`` the output (stdout) must contain TEXT (quote it: ``expect="1 purpose violation"``).

Each page gets one working folder, an ``AIRFLOW_HOME`` and a DuckDB lineage store
(``PURPOSE_LINEAGE_STORE_URL``); its blocks run in page order, so a later block can use the
files and the store an earlier one wrote. Blocks without the marker (outputs, sketches that need
a scheduler or a PostgreSQL server) are not run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BIN = Path(sys.executable).parent

MARKER = re.compile(r"^<!--\s*test\b(?P<args>[^>]*)-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,})(?P<lang>[\w-]*)(?P<info>.*)$")


@dataclass(frozen=True)
class Sample:
    page: Path
    line: int
    lang: str
    code: str
    options: dict[str, str]

    @property
    def id(self) -> str:
        page = self.page.relative_to(DOCS) if self.page.is_relative_to(DOCS) else self.page.name
        return f"{page}:{self.line}"


def extract_samples(page: Path) -> list[Sample]:
    """Marked fenced blocks of one page, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    samples: list[Sample] = []
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i].strip())
        fence = FENCE.match(lines[i + 1]) if marker and i + 1 < len(lines) else None
        if not (marker and fence):
            i += 1
            continue
        indent, ticks = len(fence["indent"]), fence["fence"]
        body, j = [], i + 2
        while j < len(lines) and not lines[j].strip().startswith(ticks):
            body.append(lines[j][indent:])
            j += 1
        if j == len(lines):
            raise AssertionError(f"{page}:{i + 2}: unclosed code fence after a test marker")
        options = dict(
            (word.split("=", 1) + [""])[:2]
            for word in shlex.split(marker["args"])  # type: ignore[misc]
        )
        samples.append(Sample(page, i + 2, fence["lang"].lower(), "\n".join(body) + "\n", options))
        i = j + 1
    return samples


def all_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


PAGES = [p for p in all_pages() if extract_samples(p)]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PURPOSE_LINEAGE"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow' / 'airflow.db'}",
            "PURPOSE_LINEAGE_STORE_URL": f"duckdb:///{home / 'lineage.duckdb'}",
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": str(ROOT / "plugins"),
        }
    )
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], where: str) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    out.args = where  # shown by the assertion messages
    return out


def _shell_commands(code: str) -> list[str]:
    commands = []
    for raw in code.splitlines():
        line = raw.strip()
        line = line[2:] if line.startswith("$ ") else line
        if line.startswith("purpose-lineage "):
            commands.append(line.split(" #", 1)[0].strip())
    return commands


# Runs consecutive Python samples in one interpreter (Airflow is imported once per group), each
# with fresh globals and its own stdout file; stops at the first failure and names it.
DRIVER = """
import contextlib, json, sys, traceback
for sample_id, path, out in json.loads(sys.argv[1]):
    code = compile(open(path, encoding="utf-8").read(), sample_id, "exec")
    with open(out, "w", encoding="utf-8") as stdout, contextlib.redirect_stdout(stdout):
        try:
            exec(code, {"__name__": "__main__"})
        except BaseException:
            sys.stderr.write(f"sample {sample_id} failed:\\n" + traceback.format_exc())
            sys.exit(1)
"""


def run_python(samples: list[Sample], workdir: Path, env: dict[str, str]) -> None:
    batch = []
    for sample in samples:
        script = workdir / f"sample_{sample.line}.py"
        script.write_text(sample.code, encoding="utf-8")
        batch.append((sample.id, str(script), str(workdir / f"sample_{sample.line}.out")))
    ids = ", ".join(s.id for s in samples)
    out = _run([sys.executable, "-c", DRIVER, json.dumps(batch)], workdir, env, ids)
    assert out.returncode == 0, f"{ids}: a sample failed\n{out.stdout}\n{out.stderr[-4000:]}"
    for sample, (_, _, stdout) in zip(samples, batch, strict=True):
        _expect(sample, [Path(stdout).read_text(encoding="utf-8")])


def _expect(sample: Sample, outputs: list[str]) -> None:
    if "expect" in sample.options:
        text = sample.options["expect"]
        assert any(text in o for o in outputs), f"{sample.id}: output lacks {text!r}\n{outputs}"


def run_sample(sample: Sample, workdir: Path, env: dict[str, str]) -> None:
    """Run one non-Python sample (or write its file)."""
    opts = sample.options
    if "file" in opts:
        target = workdir / opts["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(sample.code, encoding="utf-8")
        if "policy" in opts:
            cmd = [str(BIN / "purpose-lineage"), "validate-policy", str(target)]
            out = _run(cmd, workdir, env, sample.id)
            assert out.returncode == 0, f"{sample.id}: policy invalid\n{out.stdout}{out.stderr}"
        return
    if sample.lang == "yaml":
        policy = workdir / f"policy_{sample.line}.yaml"
        policy.write_text(sample.code, encoding="utf-8")
        out = _run([str(BIN / "purpose-lineage"), "validate-policy", str(policy)], workdir, env, sample.id)
        assert out.returncode == 0, f"{sample.id}: policy invalid\n{out.stdout}{out.stderr}"
        outputs = [out.stdout]
    elif sample.lang in ("console", "bash", "shell", "sh"):
        commands = _shell_commands(sample.code)
        assert commands, f"{sample.id}: a marked shell block has no purpose-lineage command"
        expected = int(opts.get("exit", "0"))
        outputs = []
        for command in commands:
            argv = shlex.split(command)
            out = _run([str(BIN / argv[0]), *argv[1:]], workdir, env, sample.id)
            assert out.returncode == expected, (
                f"{sample.id}: `{command}` exited {out.returncode}, expected {expected}\n"
                f"{out.stdout}\n{out.stderr[-4000:]}"
            )
            outputs.append(out.stdout)
    else:
        raise AssertionError(f"{sample.id}: no runner for a ```{sample.lang} block")
    _expect(sample, outputs)


def run_page(samples: list[Sample], workdir: Path, env: dict[str, str]) -> None:
    """Samples in page order; consecutive Python samples share one interpreter."""
    pending: list[Sample] = []
    for sample in samples:
        if sample.lang == "python" and "file" not in sample.options:
            pending.append(sample)
            continue
        if pending:
            run_python(pending, workdir, env)
            pending = []
        run_sample(sample, workdir, env)
    if pending:
        run_python(pending, workdir, env)


def test_samples_are_found():
    """The marker syntax is used; a typo in it would silently skip every sample."""
    assert len(PAGES) >= 4
    assert sum(len(extract_samples(p)) for p in PAGES) >= 10


def test_marker_requires_a_fence(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("<!-- test -->\ntext\n\n<!-- test exit=1 -->\n```console\n$ purpose-lineage x\n```\n")
    [sample] = extract_samples(page)
    assert sample.lang == "console" and sample.options == {"exit": "1"}
    assert _shell_commands(sample.code) == ["purpose-lineage x"]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_page_samples_run(page: Path, tmp_path: Path):
    env = _env(tmp_path)
    for folder in ("airflow", "dags", "plugins", "work"):
        (tmp_path / folder).mkdir()
    run_page(extract_samples(page), tmp_path / "work", env)


def test_a_failing_sample_fails_the_page(tmp_path):
    """The runner reports a broken sample by its place, and checks ``expect=``."""
    page = tmp_path / "p.md"
    page.write_text(
        "<!-- test -->\n```python\nprint('ok')\n```\n\n<!-- test -->\n```python\nraise ValueError('x')\n```\n"
    )
    with pytest.raises(AssertionError, match=r"p\.md:7.*ValueError"):
        run_page(extract_samples(page), tmp_path, _env(tmp_path))
    page.write_text("<!-- test expect=absent -->\n```python\nprint('present')\n```\n")
    with pytest.raises(AssertionError, match="lacks 'absent'"):
        run_page(extract_samples(page), tmp_path, _env(tmp_path))


def test_reference_covers_every_option_command_and_operator():
    """The reference pages name every config option, CLI command and public operator of the code."""
    from purpose_lineage.get_provider_info import CONFIG_SECTION, get_provider_info

    config = (DOCS / "reference" / "config.md").read_text(encoding="utf-8")
    options = get_provider_info()["config"][CONFIG_SECTION]["options"]
    assert [o for o in options if f"| `{o}` |" not in config] == []

    cli = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    commands = subprocess.run(
        [str(BIN / "purpose-lineage"), "--help"], capture_output=True, text=True, check=True
    ).stdout
    listed = re.findall(r"^    ([a-z][a-z-]+)", commands, flags=re.M)
    modules = list((ROOT / "plugins" / "purpose_lineage" / "cli").glob("*_cmd.py"))
    assert len(listed) >= len(modules) > 0
    assert [c for c in listed if f"## `{c}`" not in cli] == []

    operators = (DOCS / "reference" / "operators.md").read_text(encoding="utf-8")
    found = set()
    for module in (ROOT / "plugins" / "purpose_lineage" / "operators").glob("*.py"):
        found |= set(re.findall(r"^class (\w+Operator)\(", module.read_text(encoding="utf-8"), flags=re.M))
    assert found and [o for o in sorted(found) if f"## `{o}`" not in operators] == []
