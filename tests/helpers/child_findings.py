"""The findings a fault-test child process prints as one ``FINDINGS {json}`` line on stdout."""

from __future__ import annotations

import json
import subprocess

PREFIX = "FINDINGS "


def findings(proc: subprocess.CompletedProcess) -> dict:
    """The last ``FINDINGS`` object of ``proc``'s stdout.

    Airflow's task runner shares the child's stdout, and a line it writes without a newline
    can land right after the JSON on the same line: the object is decoded and the rest ignored.
    """
    lines = [ln for ln in proc.stdout.splitlines() if PREFIX in ln]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = lines[-1]
    found, _ = json.JSONDecoder().raw_decode(last[last.index(PREFIX) + len(PREFIX) :])
    return found
