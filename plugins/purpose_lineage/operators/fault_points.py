"""Named pause points for crash tests (``tests/faults/test_guard_killed.py``).

``fault_point("publish.dropped")`` does nothing unless the environment variable
``PURPOSE_LINEAGE_FAULT_PAUSE_AT`` names that point. Then it writes the point's name to
the file ``PURPOSE_LINEAGE_FAULT_MARKER`` and sleeps until the process is killed, so a test
can SIGKILL a real worker at an exact step (for example inside the publish transaction).
The cost in production is one environment lookup per point.
"""

from __future__ import annotations

import os
import time

PAUSE_ENV = "PURPOSE_LINEAGE_FAULT_PAUSE_AT"
MARKER_ENV = "PURPOSE_LINEAGE_FAULT_MARKER"
# the guard's points, in execution order
GUARD_POINTS = (
    "guard.validating",  # lineage judged, findings written, GX suite about to run
    "guard.judged",  # verdict recorded, publish about to start
    "publish.dropped",  # inside the publish transaction: target dropped, staging not renamed yet
    "publish.renamed",  # inside the transaction: renamed and marked, not committed
    "publish.committed",  # committed; the publish copy edges are not in the store yet
    "guard.done",  # everything written; the task is not marked done yet
)


def fault_point(name: str) -> None:
    if os.environ.get(PAUSE_ENV) != name:
        return
    marker = os.environ.get(MARKER_ENV)
    if marker:
        with open(marker, "w", encoding="utf-8") as fh:
            fh.write(name)
    while True:  # until SIGKILL
        time.sleep(3600)
