"""The SQL of the project's operators in Airflow DAG files, for ``check --dags``.

DAG files are imported through Airflow's ``DagBag`` (their top-level code runs, as in the
dag-processor); no task is executed and no connection is opened. The SQL of every
:class:`~purpose_lineage.operators.sql.PurposeSQLOperator` (``DuckDBPurposeOperator``
included) is collected in task topological order, DAGs by ``dag_id``.

Templated SQL is rendered with the DAG's own Jinja environment (``template_searchpath``,
user macros and filters) and a fixed default context (``ds`` = 1970-01-01, the task's
``params`` ...), with undefined variables as errors: SQL that does not render becomes a
source with a ``problem``, which fails the check unless unknowns are allowed.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from purpose_lineage.core.pipeline import SqlSource
from purpose_lineage.errors import PurposeLineageError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class DagLoadError(PurposeLineageError):
    """DAG files that do not import. ``problems`` holds one line per file."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def dag_sources(folder: str | Path, *, default_dialect: str | None = None) -> list[SqlSource]:
    """SQL sources of every purpose operator of the DAGs in ``folder``, in task order.

    Raises:
        DagLoadError: a DAG file failed to import (each with its last error line).
    """
    from airflow.dag_processing.dagbag import DagBag

    from purpose_lineage.operators.sql import PurposeSQLOperator

    with contextlib.redirect_stdout(sys.stderr):  # Airflow logs to stdout; stdout is the report
        bag = DagBag(dag_folder=str(folder), safe_mode=False)
    if bag.import_errors:
        raise DagLoadError([f"{path}: {_last_line(err)}" for path, err in sorted(bag.import_errors.items())])
    sources: list[SqlSource] = []
    for dag_id in sorted(bag.dags):
        dag = bag.dags[dag_id]
        for task in _task_order(dag):
            if isinstance(task, PurposeSQLOperator):
                sources.append(_source(dag, task, default_dialect))
    return sources


def _last_line(error: str) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1] if lines else "import failed"


def _task_order(dag: Any) -> list[Any]:
    """Tasks in topological order; ties keep the order in which tasks were defined."""
    tasks = dict(dag.task_dict)
    position = {task_id: i for i, task_id in enumerate(tasks)}
    waiting = {tid: {u for u in t.upstream_task_ids if u in tasks} for tid, t in tasks.items()}
    order: list[Any] = []
    while waiting:
        ready = sorted((tid for tid, ups in waiting.items() if not ups), key=position.__getitem__)
        if not ready:  # a cycle (Airflow rejects those at import): keep definition order
            ready = sorted(waiting, key=position.__getitem__)
        for tid in ready:
            order.append(tasks[tid])
            del waiting[tid]
        for ups in waiting.values():
            ups.difference_update(ready)
    return order


def _source(dag: Any, task: Any, default_dialect: str | None) -> SqlSource:
    name = f"{dag.dag_id}.{task.task_id}"
    dag_file = str(dag.fileloc)
    dialect = task.dialect or default_dialect
    task_line = _task_line(dag_file, task.task_id)
    raw = task.sql
    if not isinstance(raw, str):
        if isinstance(raw, Iterable) and all(isinstance(s, str) for s in raw):
            raw = ";\n".join(raw)
        else:
            return SqlSource(name, "", dialect, dag_file, task_line, problem="sql is not a string or list")
    from jinja2 import StrictUndefined, TemplateError

    env = dag.get_template_env().overlay(undefined=StrictUndefined)
    try:
        if raw.endswith(tuple(task.template_ext)):
            template = env.get_template(raw)
            path = template.filename or dag_file
            return SqlSource(name, template.render(**_context(dag, task)), dialect, path, 1)
        sql = env.from_string(raw).render(**_context(dag, task))
    except TemplateError as exc:
        why = f"{type(exc).__name__}: {exc.message}" if getattr(exc, "message", None) else type(exc).__name__
        return SqlSource(
            name, "", dialect, dag_file, task_line, problem=f"templated SQL does not render ({why})"
        )
    line = _sql_line(dag_file, raw)
    if line is None:  # Airflow already read a template file (template_ext) at parse time: find it
        found = _template_file(env, raw)
        if found is not None:
            return SqlSource(name, sql, dialect, found, 1)
    return SqlSource(name, sql, dialect, dag_file, line or task_line)


def _context(dag: Any, task: Any) -> dict[str, Any]:
    """A default template context: fixed dates, the task's params, no run state."""
    params = {**dict(getattr(dag, "params", None) or {}), **dict(getattr(task, "params", None) or {})}
    params = {k: getattr(v, "value", v) for k, v in params.items()}
    end = EPOCH + timedelta(days=1)
    return {
        "params": params,
        "ds": "1970-01-01",
        "ds_nodash": "19700101",
        "ts": EPOCH.isoformat(),
        "ts_nodash": "19700101T000000",
        "logical_date": EPOCH,
        "data_interval_start": EPOCH,
        "data_interval_end": end,
        "prev_data_interval_start_success": None,
        "prev_data_interval_end_success": None,
        "run_id": "purpose_lineage_check",
        "dag": dag,
        "task": task,
        "macros": _macros(),
    }


def _macros() -> Any:
    try:
        from airflow.sdk.execution_time import macros
    except ImportError:  # pragma: no cover - older layouts
        return None
    return macros


def _task_line(path: str, task_id: str) -> int:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return 1
    match = re.search(r"task_id\s*=\s*['\"]" + re.escape(task_id) + r"['\"]", text)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def _sql_line(path: str, raw: str) -> int | None:
    """The line where inline SQL starts in the DAG file, when it appears there verbatim."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return None
    at = text.find(raw) if raw.strip() else -1
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def _template_file(env: Any, raw: str) -> str | None:
    """The template file (under the DAG's template search path) whose text is ``raw``."""
    for folder in getattr(env.loader, "searchpath", None) or ():
        for path in sorted(Path(folder).rglob("*.sql")):
            try:
                if path.read_text(encoding="utf-8") == raw:
                    return str(path)
            except (OSError, UnicodeDecodeError):
                continue
    return None
