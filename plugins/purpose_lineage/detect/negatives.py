"""Hard negatives: value families that pass the phone prefilter but are not phone numbers.

Each family is a cheap, exact test on one value. A column whose phone candidates
mostly belong to one family is vetoed (see :func:`dominant_family`); single values
are not, because a real phone number can look like a date or a timestamp by chance
(``2012345678`` is a New Jersey number and also 2033-10-18 as epoch seconds).
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Sequence

#: Share of candidates one family must cover to veto a column.
VETO_SHARE = 0.5

_DIGITS = re.compile(r"[0-9]+")
_DATE_YMD = re.compile(r"(19|20)[0-9]{2}([-/. ]?)(0[1-9]|1[0-2])\2(0[1-9]|[12][0-9]|3[01])")
_DATE_DMY = re.compile(r"(0?[1-9]|[12][0-9]|3[01])([-/. ])(0?[1-9]|1[0-2])\2((19|20)?[0-9]{2})")
_DATE_MDY = re.compile(r"(0?[1-9]|1[0-2])([-/. ])(0?[1-9]|[12][0-9]|3[01])\2((19|20)?[0-9]{2})")
_ZIP = re.compile(r"[0-9]{5}-[0-9]{4}|[0-9]{5}-[0-9]{3}|[0-9]{3}-[0-9]{4}|[0-9]{4,6}|[0-9]{4} ?[A-Z]{2}")
_CARD = re.compile(r"[0-9]{4}([ -]?)[0-9]{4,6}\1[0-9]{4,5}(\1[0-9]{1,4})?(\1[0-9]{1,3})?")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}")
_DECIMAL = re.compile(r"-?[0-9]{1,12}[.,][0-9]{1,2}")
_ISBN = re.compile(r"97[89]([- ]?[0-9]){10}")
_EPOCH_S = (946_684_800, 2_208_988_800)  # 2000-01-01 .. 2040-01-01


def family(value: str) -> str | None:
    """The hard-negative family of one value, or None.

    >>> [family(v) for v in ("2023-04-05", "1699999999", "4111 1111 1111 1111", "+1 415 555 2671")]
    ['date', 'epoch', 'card', None]
    """
    v = value.strip()
    if _is_ip(v):
        return "ip"
    if _UUID.fullmatch(v):
        return "uuid"
    if v.isdigit():
        n = len(v)
        if n in (10, 13, 16, 19) and _EPOCH_S[0] <= int(v[:10]) < _EPOCH_S[1]:
            return "epoch"
    if _DATE_YMD.fullmatch(v) or _DATE_DMY.fullmatch(v) or _DATE_MDY.fullmatch(v):
        return "date"
    if _ISBN.fullmatch(v) and _isbn13_ok(v):
        return "isbn"
    if "+" not in v and _CARD.fullmatch(v) and _luhn_ok(v):
        return "card"
    if _ZIP.fullmatch(v):
        return "postal_code"
    if _DECIMAL.fullmatch(v):
        return "decimal"
    return None


def dominant_family(values: Iterable[str], *, share: float = VETO_SHARE) -> str | None:
    """The family covering at least ``share`` of ``values``, if any.

    >>> dominant_family(["2023-01-02", "2023-02-03", "+44 20 7946 0000"])
    'date'
    """
    counts: Counter[str] = Counter()
    total = 0
    for v in values:
        total += 1
        fam = family(v)
        if fam:
            counts[fam] += 1
    if not total:
        return None
    fam, n = counts.most_common(1)[0] if counts else (None, 0)
    return fam if fam and n >= share * total else None


def is_sequential(values: Sequence[str]) -> bool:
    """Digit-only values packed in a dense range: counters and order numbers, not phones.

    A sample of real phone numbers spreads over millions of numbers; ``min_distinct``
    distinct values within ``1000 x`` their count of each other are a sequence.

    >>> is_sequential([str(4_155_550_000 + 7 * i) for i in range(40)])
    True
    >>> is_sequential(["4155552671", "2125550199", "3105550144", "6175550123"] * 3)
    False
    """
    nums = sorted({int(v) for v in values if v.isdigit()})
    if len(nums) < 10:
        return False
    return nums[-1] - nums[0] <= 1000 * len(nums)


def _is_ip(v: str) -> bool:
    if v.count(".") != 3 and ":" not in v:
        return False
    host = v.rsplit(":", 1)[0] if v.count(":") == 1 else v
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _luhn_ok(v: str) -> bool:
    digits = [int(c) for c in v if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _isbn13_ok(v: str) -> bool:
    digits = [int(c) for c in v if c.isdigit()]
    return sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0
