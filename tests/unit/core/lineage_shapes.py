"""Hand-written lineage shapes shared by the propagation and evaluation specs.

Each edge is what the SQL analyser yields for the statement in the comment above it.
"""

from __future__ import annotations

from purpose_lineage.core.model import ColumnRef, Edge, Subtype, Tag

SECURITY = "essential.service.security"
PHONE = "user.contact.phone_number"
EMAIL = "user.contact.email"


def ref(name: str) -> ColumnRef:
    """``"t.c"`` and ``"schema.t.c"`` are columns, ``"t"`` the dataset as a whole."""
    table, _, column = name.rpartition(".") if name.count(".") > 1 else name.partition(".")
    return ColumnRef(table, column or None)


def edge(
    src: str, dst: str, subtype: Subtype, *, masked: bool = False, description: str | None = None
) -> Edge:
    return Edge(ref(src), ref(dst), subtype, masking=masked, description=description)


def tag(column: str, category: str, purpose: str) -> Tag:
    return Tag(ref(column), category, purpose)


SECURITY_PHONE = tag("users_2fa.phone_number", PHONE, SECURITY)

# The incident, in three statements:
# CREATE TABLE phone_hashes AS SELECT user_id, sha256(phone_number) AS phone_sha FROM users_2fa
# CREATE TABLE matched AS SELECT a.advertiser_user_id AS matched_id
#   FROM advertiser_uploads a JOIN phone_hashes h ON a.phone_sha = h.phone_sha
# CREATE TABLE ad_audience_acme AS SELECT matched_id AS user_id FROM matched
INCIDENT = [
    edge("users_2fa.user_id", "phone_hashes.user_id", Subtype.IDENTITY),
    edge("users_2fa.phone_number", "phone_hashes.phone_sha", Subtype.TRANSFORMATION, masked=True),
    edge("advertiser_uploads.advertiser_user_id", "matched.matched_id", Subtype.IDENTITY),
    edge("advertiser_uploads.phone_sha", "matched", Subtype.JOIN),
    edge("phone_hashes.phone_sha", "matched", Subtype.JOIN),
    edge("matched.matched_id", "ad_audience_acme.user_id", Subtype.IDENTITY),
]

# phone_lookup: CREATE TABLE phone_lookup AS SELECT sha256(t.phone_number) AS phone_sha, t.user_id
#   FROM users_2fa t JOIN users u ON u.user_id = t.user_id WHERE <consent filter>
PHONE_LOOKUP = [
    edge("users_2fa.phone_number", "phone_lookup.phone_sha", Subtype.TRANSFORMATION, masked=True),
    edge("users_2fa.user_id", "phone_lookup.user_id", Subtype.IDENTITY),
    edge("users_2fa.user_id", "phone_lookup", Subtype.JOIN),
    edge("users.user_id", "phone_lookup", Subtype.JOIN),
    edge("users.discoverable_by_phone", "phone_lookup", Subtype.FILTER),
]
