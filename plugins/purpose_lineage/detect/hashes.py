"""Hex digests: when is a column of hashes a hashed *identifier*?

A sha256 of a normalised phone number looks exactly like a sha256 of a file, and a
git commit id like a sha1 of an e-mail. The values alone cannot tell them apart, so a
hex column is a ``hashed_identifier`` only when

1. the fingerprints hook confirms a sample matches fingerprints of known identifiers
   (``confirm_hashes(values) -> bool``), or
2. the column name says it is a hash *of someone* (``email_sha256``, ``hashed_phone``,
   ``user_hash``; not ``content_sha256`` or ``commit_sha``) **and** the values are
   uniform md5 (32) or sha256 (64) hex digests.

sha1-length (40) values, the length of git object ids, count only when confirmed.
32-hex values laid out like UUIDs (version nibble, RFC 4122 variant) are UUIDs.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from purpose_lineage.detect.model import ConfirmHashes

log = logging.getLogger(__name__)

#: Share of hex values that must have the same length.
UNIFORM_SHARE = 0.95
HINTED_LENGTHS = (32, 64)
_UUID_HEX = re.compile(r"[0-9a-fA-F]{12}[1-8][0-9a-fA-F]{3}[89abAB][0-9a-fA-F]{15}")


@dataclass(frozen=True)
class HexVerdict:
    """What the hex candidates of one column look like."""

    validated: int
    length: int | None
    uniform: bool
    uuid_like: bool
    confirmed: bool | None  # None: no hook, or the hook failed


def assess_hex(values: Sequence[str], confirm_hashes: ConfirmHashes | None = None) -> HexVerdict:
    """Length uniformity, UUID layout, and the fingerprint hook's answer.

    >>> v = assess_hex(["0" * 64, "a" * 64, "b" * 64], confirm_hashes=lambda vs: True)
    >>> v.length, v.uniform, v.uuid_like, v.confirmed
    (64, True, False, True)
    """
    lengths = Counter(len(v) for v in values)
    if not lengths:
        return HexVerdict(0, None, False, False, None)
    length, n = lengths.most_common(1)[0]
    uniform = n >= UNIFORM_SHARE * len(values)
    uuid_like = length == 32 and sum(bool(_UUID_HEX.fullmatch(v)) for v in values) >= 0.9 * len(values)
    confirmed = None
    if confirm_hashes is not None and not uuid_like:
        try:
            confirmed = bool(confirm_hashes(list(values)))
        except Exception:  # the hook is another module's code: a failure means "not confirmed"
            log.warning("confirm_hashes failed; treating the sample as unconfirmed")
            log.debug("confirm_hashes traceback", exc_info=True)
    return HexVerdict(len(values), length, uniform, uuid_like, confirmed)
