"""The package shows up in Airflow's own CLI, once, after a real install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _airflow(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([AIRFLOW, *args], capture_output=True, text=True, env=env, timeout=180)


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory, repo_root: Path) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow-cli-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        # the plugins folder is ours too: the plugin must still register exactly once
        AIRFLOW__CORE__PLUGINS_FOLDER=str(repo_root / "plugins"),
    )
    return env


def test_providers_list_shows_the_distribution(cli_env):
    out = _airflow("providers", "list", "--output", "json", env=cli_env)
    assert out.returncode == 0, out.stderr
    packages = {row["package_name"] for row in json.loads(out.stdout)}
    assert "airflow-purpose-lineage" in packages


def test_plugins_shows_the_plugin_once_without_errors(cli_env):
    out = _airflow("plugins", "--output", "json", env=cli_env)
    assert out.returncode == 0, out.stderr
    names = [row["name"] for row in json.loads(out.stdout)]
    assert names.count("purpose_lineage") == 1
    assert "already registered" not in out.stdout + out.stderr


def test_config_section_is_declared(cli_env):
    out = _airflow("config", "get-value", "purpose_lineage", "fingerprint_conn_id", env=cli_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "purpose_lineage_fingerprint"
    configs = _airflow("providers", "configs", "--output", "json", env=cli_env)
    assert configs.returncode == 0, configs.stderr
    assert "airflow-purpose-lineage" in configs.stdout


def test_console_script_help():
    script = Path(sys.executable).with_name("purpose-lineage")
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "taxonomy" in out.stdout
    bad = subprocess.run([str(script), "no-such-command"], capture_output=True, text=True)
    assert bad.returncode == 2
