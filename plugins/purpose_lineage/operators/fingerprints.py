"""Build and refresh the keyed fingerprint set of security-only identifiers.

The set holds HMAC-SHA256 fingerprints of identifiers collected only for security or
authentication (2FA phones, recovery emails), minus those the same user also gave for
marketing with consent. It never holds a plain identifier. The key comes from an Airflow
connection's password (``[purpose_lineage] fingerprint_conn_id``); without it the task fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from airflow.providers.common.sql.operators.sql import BaseSQLOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

Source = Mapping[str, str]


class FingerprintRefreshOperator(BaseSQLOperator):
    """Rebuild a fingerprint table from identifier sources, atomically.

    :param conn_id: warehouse connection (DuckDB or PostgreSQL).
    :param sources: identifiers to fingerprint, each ``{"query": table or SELECT, "column": ...,
        "kind": "phone"|"email", "user_column": optional owner column}``.
    :param exclude: identifiers to leave out (same shape), e.g. marketing-consented contacts.
    :param table: the fingerprint table to (re)build.
    :param fingerprint_conn_id: connection whose password is the HMAC key.
    """

    template_fields: Sequence[str] = ("conn_id", "table")
    ui_color = "#e0f2fe"

    def __init__(
        self,
        *,
        conn_id: str,
        sources: Sequence[Source],
        exclude: Sequence[Source] = (),
        table: str = "pl_security_fingerprints",
        fingerprint_conn_id: str | None = None,
        default_region: str = "US",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        self.sources = [dict(s) for s in sources]
        self.exclude = [dict(s) for s in exclude]
        self.table = table
        self.fingerprint_conn_id = fingerprint_conn_id
        self.default_region = default_region

    def execute(self, context: Context) -> dict:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowFailException

        from purpose_lineage import config
        from purpose_lineage.errors import PurposeLineageError
        from purpose_lineage.gx.fingerprints import IdentifierSource, build_fingerprint_table

        conn_id = self.fingerprint_conn_id or config.fingerprint_conn_id()
        try:
            secret = BaseHook.get_connection(conn_id).password
        except Exception as exc:  # not found: say which connection to create
            raise AirflowFailException(
                f"fingerprint key connection {conn_id!r} is missing: create it with the key as password"
            ) from exc
        try:
            report = build_fingerprint_table(
                self.get_db_hook().get_uri(),
                sources=[IdentifierSource(**s) for s in self.sources],
                exclude=[IdentifierSource(**s) for s in self.exclude],
                secret=secret,
                table=self.table,
                default_region=self.default_region,
            )
        except PurposeLineageError as exc:
            raise AirflowFailException(str(exc)) from exc
        self.log.info(
            "Fingerprint set %s: %d identities, %d excluded, %d rejected (%.2fs)",
            report.table,
            report.identities,
            report.excluded,
            report.rejected,
            report.seconds,
        )
        return asdict(report)
