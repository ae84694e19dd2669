"""``purpose-lineage store ...``"""

from __future__ import annotations

import json

from purpose_lineage.cli import main
from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag
from purpose_lineage.store import migrations, open_store
from purpose_lineage.store.base import RunInfo


def seeded(tmp_path) -> str:
    url = f"duckdb:///{tmp_path / 'l.duckdb'}"
    store = open_store(url)
    phone = ColumnRef("auth.users_2fa", "phone")
    store.record_lineage(
        RunInfo("r1"),
        [Edge(phone, ColumnRef("ads.audience", None), Subtype.JOIN)],
        [Tag(phone, "user.contact.phone_number", "essential.service.security")],
    )
    return url


def test_paths_exit_1_when_a_purpose_reaches_the_sink(tmp_path, capsys):
    url = seeded(tmp_path)
    assert (
        main(["store", "--url", url, "paths", "ads.audience", "--purpose", "essential.service.security"]) == 1
    )
    assert "auth.users_2fa.phone -> [INDIRECT/JOIN] ads.audience" in capsys.readouterr().out
    assert (
        main(["store", "--url", url, "--format", "json", "paths", "ads.audience", "--purpose", "marketing"])
        == 0
    )
    assert json.loads(capsys.readouterr().out) == []


def test_status_drain_migrate(tmp_path, capsys):
    url = seeded(tmp_path)
    assert main(["store", "--url", url, "--format", "json", "status"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "url_scheme": "duckdb",
        "schema_version": migrations.LATEST,
        "pending": 0,
        "failed": 0,
    }
    assert main(["store", "--url", url, "drain"]) == 0
    assert main(["store", "--url", url, "migrate"]) == 0
    assert f"schema_version  {migrations.LATEST}" in capsys.readouterr().out


def test_errors_exit_1_and_usage_exit_2(capsys):
    assert main(["store", "--url", "mysql://x/y", "status"]) == 1
    assert "unknown lineage store scheme" in capsys.readouterr().out
    assert main(["store", "--url", "duckdb:///x.duckdb"]) == 2
