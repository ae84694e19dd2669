"""The motivating incident as lineage, written through the store API.

A 2FA phone number (collected for ``essential.service.security``) is hashed into a join
key and used to match an advertiser's upload: the phone never lands in the audience
table, but it decides which rows do. Beside it, a clean marketing e-mail path, a failed
guard verdict for the audience sink and a passed one for the campaign sink. One dataset
and one column carry markup in their names, to show the page keeps them inert.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from purpose_lineage.core.model import ColumnRef, Edge, Hop, Subtype, Tag, TagSource, Violation
from purpose_lineage.store.base import Assertion, DatasetInfo, LineageStore, RunInfo, Verdict

DAG = "ad_audience_sync"
RUN = "scheduled__2026-03-01T00:00:00+00:00"
OTHER_RUN = "scheduled__2026-02-28T00:00:00+00:00"
EMAIL_DAG = "newsletter"
EMAIL_RUN = "manual__2026-03-01T06:00:00+00:00"
XSS = "<img src=x onerror=alert(1)>"
XSS_COLUMN = "<script>alert(2)</script>"

USERS_2FA = "main.users_2fa"
PHONE_KEYS = "staging.phone_keys"
UPLOADS = "main.advertiser_uploads"
AUDIENCE = "marts.ad_audience_acme"
USERS = "main.users"
RECIPIENTS = "staging.newsletter_recipients"
CAMPAIGN = "marts.email_campaign"

SECURITY = "essential.service.security"
MARKETING = "marketing.advertising.first_party"
PHONE = "user.contact.phone_number"
EMAIL = "user.contact.email"

T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


def c(table: str, column: str | None) -> ColumnRef:
    return ColumnRef(table, column)


def task_run(dag: str, run: str, task: str) -> str:
    return f"{dag}/{run}/{task}"


HASH_PHONES = [
    Edge(c(USERS_2FA, "phone_number"), c(PHONE_KEYS, "phone_sha256"), Subtype.TRANSFORMATION, masking=True),
    Edge(c(USERS_2FA, "user_id"), c(PHONE_KEYS, "user_id"), Subtype.IDENTITY),
]
MATCH_AUDIENCE = [
    Edge(c(PHONE_KEYS, "phone_sha256"), c(AUDIENCE, None), Subtype.JOIN),
    Edge(c(UPLOADS, "phone_sha256"), c(AUDIENCE, None), Subtype.JOIN),
    Edge(c(PHONE_KEYS, "user_id"), c(AUDIENCE, "user_id"), Subtype.IDENTITY),
    Edge(c(UPLOADS, "advertiser_id"), c(AUDIENCE, "advertiser_id"), Subtype.IDENTITY),
    Edge(c(UPLOADS, "uploaded_at"), c(AUDIENCE, "matched_at"), Subtype.AGGREGATION),
]
EMAIL_EDGES = [
    Edge(c(USERS, "email"), c(RECIPIENTS, "email_sha256"), Subtype.TRANSFORMATION, masking=True),
    Edge(c(USERS, "marketing_opt_in"), c(RECIPIENTS, None), Subtype.FILTER),
    Edge(c(USERS, "country"), c(RECIPIENTS, "country"), Subtype.IDENTITY),
    Edge(c(RECIPIENTS, "email_sha256"), c(CAMPAIGN, "email_sha256"), Subtype.IDENTITY),
    Edge(c(RECIPIENTS, "country"), c(CAMPAIGN, None), Subtype.GROUP_BY),
    Edge(c(USERS, "email"), c(XSS, XSS_COLUMN), Subtype.IDENTITY),
]

VIOLATION = Violation(
    rule="security-identifiers-never-for-ads",
    sink=AUDIENCE,
    sink_column=None,
    source=USERS_2FA,
    source_column="phone_number",
    purpose=SECURITY,
    category=PHONE,
    path=(
        Hop(USERS_2FA, "phone_number"),
        Hop(PHONE_KEYS, "phone_sha256", "DIRECT/TRANSFORMATION"),
        Hop(AUDIENCE, None, "INDIRECT/JOIN"),
    ),
)


def fill(store: LineageStore) -> None:
    """Write the incident's lineage, tags, runs and verdicts into ``store``."""
    hash_run = task_run(DAG, RUN, "hash_phones")
    match_run = task_run(DAG, RUN, "match_audience")
    store.record_lineage(
        RunInfo(hash_run, "COMPLETE", T0, job_name=f"{DAG}.hash_phones", dag_id=DAG, task_id="hash_phones"),
        HASH_PHONES,
        datasets=[
            DatasetInfo(USERS_2FA, ("user_id", "phone_number", "created_at")),
            DatasetInfo(PHONE_KEYS, ("user_id", "phone_sha256")),
        ],
    )
    store.record_lineage(
        RunInfo(
            match_run,
            "COMPLETE",
            T0 + timedelta(minutes=5),
            job_name=f"{DAG}.match_audience",
            dag_id=DAG,
            task_id="match_audience",
        ),
        MATCH_AUDIENCE,
        datasets=[
            DatasetInfo(UPLOADS, ("advertiser_id", "phone_sha256", "uploaded_at")),
            DatasetInfo(AUDIENCE, ("advertiser_id", "user_id", "matched_at")),
        ],
        assertions=[
            Assertion(
                AUDIENCE, "no_security_fingerprints", False, column=None, severity="error", run_id=match_run
            )
        ],
    )
    email_run = task_run(EMAIL_DAG, EMAIL_RUN, "build_recipients")
    store.record_lineage(
        RunInfo(
            email_run,
            "COMPLETE",
            T0 + timedelta(hours=5),
            job_name=f"{EMAIL_DAG}.build_recipients",
            dag_id=EMAIL_DAG,
            task_id="build_recipients",
        ),
        EMAIL_EDGES,
        datasets=[
            DatasetInfo(USERS, ("user_id", "email", "marketing_opt_in", "country")),
            DatasetInfo(RECIPIENTS, ("email_sha256", "country")),
            DatasetInfo(CAMPAIGN, ("email_sha256",)),
            DatasetInfo(XSS, (XSS_COLUMN,)),
        ],
    )
    store.record_tags(
        [
            Tag(c(USERS_2FA, "phone_number"), PHONE, SECURITY, TagSource.DECLARED),
            Tag(
                c(PHONE_KEYS, "phone_sha256"),
                PHONE,
                SECURITY,
                TagSource.PROPAGATED,
                origin=c(USERS_2FA, "phone_number"),
                run_id=hash_run,
            ),
            Tag(c(UPLOADS, "phone_sha256"), PHONE, "marketing.advertising.third_party", TagSource.DETECTED),
            Tag(c(USERS, "email"), EMAIL, MARKETING, TagSource.DECLARED),
            Tag(
                c(RECIPIENTS, "email_sha256"),
                EMAIL,
                MARKETING,
                TagSource.PROPAGATED,
                origin=c(USERS, "email"),
                run_id=email_run,
            ),
            Tag(
                c(CAMPAIGN, "email_sha256"),
                EMAIL,
                MARKETING,
                TagSource.PROPAGATED,
                origin=c(USERS, "email"),
                run_id=email_run,
            ),
            Tag(
                c(XSS, XSS_COLUMN),
                EMAIL,
                MARKETING,
                TagSource.PROPAGATED,
                origin=c(USERS, "email"),
                run_id=email_run,
            ),
        ]
    )
    # an older run of the audience DAG passed (before the join was added); the newest failed
    store.record_verdict(
        Verdict(
            task_run(DAG, OTHER_RUN, "guard"),
            DAG,
            "guard",
            AUDIENCE,
            passed=True,
            checked_at=T0 - timedelta(days=1),
        )
    )
    store.record_verdict(
        Verdict.from_violations(
            [VIOLATION],
            run_id=task_run(DAG, RUN, "guard"),
            dag_id=DAG,
            task_id="guard",
            sink=AUDIENCE,
            affected_count=1250,
            checked_at=T0 + timedelta(minutes=10),
        )
    )
    store.record_verdict(
        Verdict(
            task_run(EMAIL_DAG, EMAIL_RUN, "guard"),
            EMAIL_DAG,
            "guard",
            CAMPAIGN,
            passed=True,
            checked_at=T0 + timedelta(hours=5, minutes=3),
        )
    )
