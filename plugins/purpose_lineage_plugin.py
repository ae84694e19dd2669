"""Loader for deployments that point Airflow's plugins folder here instead of pip-installing.

When the distribution is installed, its ``airflow.plugins`` entry point registers the
plugin already, so this file defines nothing and the plugin is never registered twice.
"""

from importlib.metadata import entry_points

if not entry_points(group="airflow.plugins", name="purpose_lineage"):
    from purpose_lineage.plugin import PurposeLineagePlugin  # noqa: F401
