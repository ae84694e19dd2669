"""The policy and the lineage store an operator works with, built once per task on first use."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from purpose_lineage.core.policy import Policy
    from purpose_lineage.store.base import LineageStore


class PolicyAndStore:
    """Mixin: ``self.policy`` and ``self.store`` from the operator's arguments or the config.

    Operators set ``policy_file`` and ``store_url`` (None means the ``[purpose_lineage]`` config).
    """

    policy_file: str | None = None
    store_url: str | None = None

    @cached_property
    def policy(self) -> Policy:
        from purpose_lineage import config
        from purpose_lineage.core.policy import load_policy

        return load_policy(self.policy_file or config.policy_file() or None)

    @cached_property
    def store(self) -> LineageStore:
        from purpose_lineage import config
        from purpose_lineage.store import open_store

        return open_store(self.store_url or config.store_url(), spool_dir=config.spool_dir())
