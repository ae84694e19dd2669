"""Great Expectations integration: the DuckDB datasource, data-level expectations, suites.

GX registers custom expectation and datasource classes when they are *defined*,
and a file data context reads its config (``type: duckdb``) and suites
(``expect_no_security_only_identifiers``) as soon as it is opened. So, in every
process, call :func:`register` before ``gx.get_context()``::

    import purpose_lineage.gx
    purpose_lineage.gx.register()
    context = gx.get_context(project_root_dir=...)

:func:`purpose_lineage.gx.run.run_suite` does this itself. This package never
imports Airflow; importing it does not import GX either.
"""

from __future__ import annotations

import importlib

_MODULES = ("purpose_lineage.gx.duckdb_datasource", "purpose_lineage.gx.expectations")


def register() -> None:
    """Import (and so register with GX) the ``duckdb`` datasource and the custom expectations.

    Idempotent and cheap after the first call.
    """
    for name in _MODULES:
        importlib.import_module(name)
