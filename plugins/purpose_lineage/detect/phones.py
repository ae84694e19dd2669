"""Phone-number validation of a bounded sample, with phonenumbers.

A value counts as *valid* when phonenumbers says the number exists in a numbering plan,
and as *strong* when the way it is written is evidence too: an international prefix
(``+``/``00``), separators where the plan puts them (``(415) 555-2671``, ``06 12 34 56
78``), a vanity spelling or an extension. Digit-only national values carry only the
plan's specificity: in some plans most random digit strings are valid (about 80% of
random 7 to 12 digit strings are valid German numbers), so :func:`random_validity`
measures that chance per region and length, and the column rules use it.

National values have no country, so the column's region is inferred: the plan in which
most of the first values are valid (regions seen in the column's international values
first, then ``regions``; ``"+"`` means "digits that start with a country code").
"""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import PhoneNumberFormat

#: Regions tried for national-format values, most common first. Pass ``regions=`` to
#: cover others: national formats of a region not listed are not recognised.
DEFAULT_REGIONS: tuple[str, ...] = tuple(
    "US GB DE FR IN BR CN JP IT ES MX CA AU NL BE CH AT SE NO DK FI PL CZ PT IE RU UA TR PK BD KR TW "
    "HK SG MY ID TH VN PH NZ AR CO CL PE ZA NG KE EG SA AE IL".split()
)
INTL = "+"  # pseudo-region: digit strings starting with a country code, without the plus

_SEARCH_SIZE = 12  # values used to pick a column's region
_QUICK = 4  # a region must validate 3 of the first 4 to be considered further
_MIN_DIGITS, _MAX_DIGITS = 7, 17
_EXT = re.compile(r"[ ]*([Ee][Xx][Tt][Nn]?\.?|[Xx]|#)[ ]*[0-9]{1,6}[ ]*$")
_TEL = re.compile(r"^[ ]*[Tt][Ee][Ll]:[ ]*")
_TRUNK_IN_PARENS = re.compile(r"\(0\)")
_DIGIT_RUN = re.compile(r"[0-9]+")
_LETTERS = re.compile(r"[A-Za-z]")


@dataclass
class PhoneVerdict:
    """Validation counts for one column's phone candidates. ``e164`` holds valid numbers
    normalised, for masked examples only."""

    validated: int = 0
    valid: int = 0
    strong: int = 0
    bare: int = 0
    bare_valid: int = 0
    region: str | None = None
    baseline: float = 0.0
    regions: Counter = field(default_factory=Counter)
    e164: list[str] = field(default_factory=list)

    @property
    def valid_share(self) -> float:
        return self.valid / self.validated if self.validated else 0.0

    @property
    def strong_share(self) -> float:
        return self.strong / self.validated if self.validated else 0.0


@dataclass(frozen=True)
class _Value:
    raw: str  # as written, minus tel: and (0)
    main: str  # without the extension
    digits: str
    intl: bool
    ext: bool
    vanity: bool

    @property
    def bare(self) -> bool:
        return not self.intl and self.main.strip().isdigit()


def validate_phones(values: Sequence[str], *, regions: Sequence[str] = DEFAULT_REGIONS) -> PhoneVerdict:
    """Validate phone candidates of one column.

    >>> v = validate_phones(["+1 415-555-2671", "(212) 555-0199", "0044 20 7946 0018"])
    >>> v.valid, v.strong, v.region
    (3, 3, 'US')
    """
    verdict = PhoneVerdict()
    parsed = [_prepare(v) for v in values]
    verdict.validated = len(parsed)
    national = [p for p in parsed if p is not None and not p.intl]
    intl_regions: Counter[str] = Counter()
    for p in parsed:
        if p is None or not p.intl:
            continue
        num = _parse(p.raw, None)
        if num is not None:
            intl_regions[phonenumbers.region_code_for_number(num) or ""] += 1
            _count(verdict, p, num)
    if national:
        seen = [r for r, _ in intl_regions.most_common() if r and r != "001"]
        region = _pick_region(national[:_SEARCH_SIZE], [*seen, *regions, INTL])
        verdict.region = region
        if region is not None:
            shapes: Counter[tuple[int, bool]] = Counter()
            for p in national:
                num = _parse_national(p, region)
                if p.bare:
                    verdict.bare += 1
                    shapes[(len(p.digits), p.digits.startswith("0"))] += 1
                if num is not None:
                    verdict.bare_valid += p.bare
                    _count(verdict, p, num)
            verdict.baseline = _baseline(region, list(shapes.elements()))
    elif intl_regions:
        verdict.region = intl_regions.most_common(1)[0][0] or None
    return verdict


@functools.cache
def random_validity(region: str, length: int, leading_zero: bool, trials: int = 200) -> float:
    """Share of random digit strings of this shape that are valid numbers in ``region``.

    >>> random_validity("DE", 10, False) > 0.5, random_validity("US", 10, False) < 0.5
    (True, True)
    """
    rng = random.Random(f"{region}:{length}:{leading_zero}")
    ok = 0
    for _ in range(trials):
        first = "0" if leading_zero else str(rng.randint(1, 9))
        digits = first + "".join(rng.choice("0123456789") for _ in range(length - 1))
        p = _Value(digits, digits, digits, False, False, False)
        ok += _parse_national(p, region) is not None
    return ok / trials


def _count(verdict: PhoneVerdict, p: _Value, num: phonenumbers.PhoneNumber) -> None:
    verdict.valid += 1
    verdict.regions[phonenumbers.region_code_for_number(num) or "001"] += 1
    if p.intl or p.vanity or p.ext or _written_as_plan(p, num):
        verdict.strong += 1
    if len(verdict.e164) < 8:
        verdict.e164.append(phonenumbers.format_number(num, PhoneNumberFormat.E164))


def _prepare(value: str) -> _Value | None:
    raw = _TRUNK_IN_PARENS.sub("", _TEL.sub("", value)).strip()
    main = _EXT.sub("", raw)
    ext = main != raw
    vanity = len(_LETTERS.findall(main)) >= 3
    if _LETTERS.search(main) and not vanity:
        return None
    converted = phonenumbers.convert_alpha_characters_in_number(main) if vanity else main
    digits = "".join(_DIGIT_RUN.findall(converted))
    intl = main.startswith("+") or (main.startswith("00") and not main.startswith("000"))
    if intl and main.startswith("00"):
        raw, main, digits = "+" + raw[2:], "+" + main[2:], digits[2:]
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        return None
    return _Value(raw, main, digits, intl, ext, vanity)


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        num = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return num if phonenumbers.is_valid_number(num) else None


def _parse_national(p: _Value, region: str) -> phonenumbers.PhoneNumber | None:
    if region == INTL:
        return _parse("+" + p.digits, None) if p.bare else None
    return _parse(p.raw, region)


def _pick_region(sample: Sequence[_Value], candidates: Sequence[str]) -> str | None:
    """The candidate plan that validates most of ``sample`` (then: most strongly written,
    then: least likely to validate random digits). Stops early at a plan that validates
    every value with strong evidence or low random validity."""
    best: tuple[int, int, float] | None = None
    best_region = None
    for region in dict.fromkeys(candidates):
        head = sample[:_QUICK]
        if sum(_parse_national(p, region) is not None for p in head) < min(3, len(head)):
            continue
        valid = strong = 0
        bare_shapes: list[tuple[int, bool]] = []
        for p in sample:
            num = _parse_national(p, region)
            if num is None:
                continue
            valid += 1
            if p.vanity or p.ext or _written_as_plan(p, num):
                strong += 1
            elif p.bare:
                bare_shapes.append((len(p.digits), p.digits.startswith("0")))
        base = _baseline(region, bare_shapes)
        key = (valid, strong, -base)
        if best is None or key > best:
            best, best_region = key, region
        if valid == len(sample) and strong + len(bare_shapes) == valid and base <= 0.5:
            break
    return best_region


def _baseline(region: str, shapes: Sequence[tuple[int, bool]]) -> float:
    if not shapes:
        return 0.0
    return sum(random_validity(region, n, z) for n, z in shapes) / len(shapes)


def _written_as_plan(p: _Value, num: phonenumbers.PhoneNumber) -> bool:
    """Separators sit where the plan's national or international format puts them."""
    groups = [len(g) for g in _DIGIT_RUN.findall(p.main)]
    if len(groups) < 2:
        return False
    value_cuts = _cuts_from_right(groups)
    total = sum(groups)
    for fmt in (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL):
        expected = [len(g) for g in _DIGIT_RUN.findall(phonenumbers.format_number(num, fmt))]
        if len(expected) < 2:
            continue
        width = sum(expected)
        want = {c for c in _cuts_from_right(expected) if c < total}
        if total > width:
            want.add(width)  # a country code or trunk prefix written as its own group
        if want and want <= value_cuts:
            return True
    return False


def _cuts_from_right(groups: Sequence[int]) -> set[int]:
    cuts, acc = set(), 0
    for g in reversed(groups[1:]):
        acc += g
        cuts.add(acc)
    return cuts
