"""Paths the root conftest configured, read from the environment (another folder's conftest
module may shadow ``import conftest``)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def ol_events_file() -> Path:
    """Where the OpenLineage provider's file transport writes events in tests."""
    return Path(json.loads(os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"])["log_file_path"])
