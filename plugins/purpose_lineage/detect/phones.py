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
import json
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat
from phonenumbers.re_util import enable_pattern_cache

# Keep phonenumbers' compiled metadata patterns: trying many regions overflows the re
# module's 512-entry cache and recompiling dominated the scan time (3.5 s of 14 s).
enable_pattern_cache()

#: Regions tried for national-format values, most common first. Pass ``regions=`` to
#: cover others: national formats of a region not listed are not recognised.
DEFAULT_REGIONS: tuple[str, ...] = tuple(
    "US GB DE FR IN BR CN JP IT ES MX CA AU NL BE CH AT SE NO DK FI PL CZ PT IE RU UA TR PK BD KR TW "
    "HK SG MY ID TH VN PH NZ AR CO CL PE ZA NG KE EG SA AE IL".split()
)
INTL = "+"  # pseudo-region: digit strings starting with a country code, without the plus

_SEARCH_SIZE = 10  # values used to pick a column's region
_RANK_SIZE = 30  # values used to break ties between regions
EARLY_STOP = 32  # validation may stop after this many values once the verdict is clear
TRIALS = 240  # random digit strings per (region, length, leading zero) in random_validity
VALIDITY_TABLE = Path(__file__).with_name("random_validity.json")
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
    junk: int = 0  # placeholders such as 000-000-0000: invalid, and not evidence about the plan
    strong: int = 0
    bare: int = 0
    bare_valid: int = 0
    trunk_valid: int = 0  # digit-only values valid with the region's "0" trunk prefix, e.g. 0612345678
    region: str | None = None
    baseline: float = 0.0  # expected valid share if the values were random digits of the same shapes
    regions: Counter = field(default_factory=Counter)
    e164: list[str] = field(default_factory=list)

    @property
    def valid_share(self) -> float:
        return self.valid / self.validated if self.validated else 0.0

    @property
    def clean_share(self) -> float:
        """Valid share among values that are not placeholders."""
        clean = self.validated - self.junk
        return self.valid / clean if clean else 0.0

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

    @property
    def junk(self) -> bool:
        """Placeholders such as 000-000-0000 or 9999999999."""
        return max(self.digits.count(d) for d in set(self.digits)) >= 0.8 * len(self.digits)


def validate_phones(
    values: Sequence[str], *, regions: Sequence[str] = DEFAULT_REGIONS, early: int = EARLY_STOP
) -> PhoneVerdict:
    """Validate phone candidates of one column, in order.

    Stops after ``early`` values when at most 10% are valid, or when at most one is
    invalid in a plan that random digits rarely hit: the verdict is then clear, and the
    rest of the bounded sample would only cost time.
    ``baseline`` is the share of values random digits of the same shapes would reach.

    >>> v = validate_phones(["+1 415-555-2671", "(212) 555-0199", "0044 20 7946 0018"])
    >>> v.valid, v.strong, v.region
    (3, 3, 'US')
    """
    verdict = PhoneVerdict()
    parsed = [_prepare(v) for v in values]
    national = [p for p in parsed if p is not None and not p.intl]
    seen: Counter[str] = Counter()
    for p in parsed[:_SEARCH_SIZE]:
        num = _parse(p.raw, None) if p is not None and p.intl else None
        if num is not None:
            seen[phonenumbers.region_code_for_number(num) or ""] += 1
    region = None
    if national:
        search = [p for p in national if not p.junk][:_SEARCH_SIZE]
        tried = [r for r, _ in seen.most_common() if r and r != "001"]
        candidates = [r for r in dict.fromkeys([*tried, *regions]) if _length_fits(r, search)] + [INTL]
        region = _pick_region(search, candidates, national[:_RANK_SIZE]) if search else None
    zero_trunk = region not in (None, INTL) and phonenumbers.ndd_prefix_for_region(region, True) == "0"
    chance = 0.0  # sum over validated values of the chance that random digits of that shape validate
    for p in parsed:
        verdict.validated += 1
        if p is not None and p.junk:
            verdict.junk += 1
        elif p is not None:
            if p.intl:
                num = _parse(p.raw, None)
                chance += random_validity(INTL, len(p.digits), False)
            else:
                num = _parse_national(p, region) if region is not None else None
                if region is not None:
                    chance += random_validity(region, len(p.digits), p.digits.startswith("0"))
                verdict.bare += p.bare
            if num is not None:
                verdict.bare_valid += p.bare
                verdict.trunk_valid += p.bare and zero_trunk and p.digits[0] == "0" and p.digits[1] != "0"
                _count(verdict, p, num)
        clean = verdict.validated - verdict.junk
        if verdict.validated >= early and clean:
            # stop early only where 32 values are decisive: a plan that random digits rarely hit
            clear_yes = clean - verdict.valid <= 1 and chance / clean <= 0.5
            if clear_yes or verdict.valid_share <= 0.1:
                break
    clean = verdict.validated - verdict.junk
    verdict.region = region or (seen.most_common(1)[0][0] if seen else None) or None
    verdict.baseline = chance / clean if clean else 0.0
    return verdict


@functools.cache
def random_validity(region: str, length: int, leading_zero: bool) -> float:
    """Share of random digit strings of this shape that are valid numbers in ``region``.

    Read from the shipped table (``random_validity.json``) for the default regions and
    7 to 17 digits; measured on first use otherwise.

    >>> random_validity("DE", 10, False) > 0.5, random_validity("US", 10, False) < 0.5
    (True, True)
    """
    known = _validity_table().get(f"{region}:{length}:{int(leading_zero)}")
    return known if known is not None else measure_random_validity(region, length, leading_zero)


def measure_random_validity(region: str, length: int, leading_zero: bool, trials: int = TRIALS) -> float:
    """Measure the share with ``trials`` seeded random digit strings (deterministic)."""
    rng = random.Random(f"{region}:{length}:{leading_zero}")
    ok = 0
    for _ in range(trials):
        first = "0" if leading_zero else str(rng.randint(1, 9))
        digits = first + "".join(rng.choice("0123456789") for _ in range(length - 1))
        p = _Value(digits, digits, digits, False, False, False)
        ok += _parse_national(p, region) is not None
    return ok / trials


@functools.cache
def _validity_table() -> dict[str, float]:
    try:
        return json.loads(VALIDITY_TABLE.read_text(encoding="utf-8"))["validity"]
    except (OSError, ValueError, KeyError):  # a missing table only costs time
        return {}


def write_validity_table(path: Path = VALIDITY_TABLE) -> None:
    """Regenerate the shipped table (run after a phonenumbers upgrade):
    ``python -c "from purpose_lineage.detect.phones import write_validity_table as w; w()"``."""
    validity = {
        f"{region}:{n}:{int(zero)}": round(measure_random_validity(region, n, zero), 4)
        for region in (*DEFAULT_REGIONS, INTL)
        for n in range(_MIN_DIGITS, _MAX_DIGITS + 1)
        for zero in (False, True)
    }
    doc = {"phonenumbers": phonenumbers.__version__, "trials": TRIALS, "validity": validity}
    path.write_text(json.dumps(doc, indent=0, sort_keys=True) + "\n", encoding="utf-8")


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


@functools.lru_cache(maxsize=16_384)  # the region search and the validation parse the same values
def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        num = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return num if phonenumbers.is_valid_number(num) else None


def _parse_national(p: _Value, region: str) -> phonenumbers.PhoneNumber | None:
    if region == INTL:
        return _parse("+" + p.digits, None) if p.bare else None
    if not p.vanity and not _may_fit(region, p.digits):
        return None
    return _parse(p.raw, region)


@functools.cache
def _plan(region: str) -> tuple[re.Pattern | None, str, bool]:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or not meta.general_desc.national_number_pattern:
        return None, "", True
    ndd = meta.national_prefix or ""
    simple = meta.national_prefix_for_parsing in (None, ndd) and not meta.national_prefix_transform_rule
    return re.compile(meta.general_desc.national_number_pattern), ndd, simple


def _may_fit(region: str, digits: str) -> bool:
    """A regex pre-check, ~20x cheaper than parsing: can these digits (minus a trunk prefix)
    be a national number of the plan at all? Plans that rewrite numbers while parsing
    (carrier codes, mobile tokens) always get the full parse."""
    pattern, ndd, simple = _plan(region)
    if pattern is None or not simple:
        return True
    if pattern.fullmatch(digits):
        return True
    return bool(ndd) and digits.startswith(ndd) and pattern.fullmatch(digits[len(ndd) :]) is not None


def _pick_region(sample: Sequence[_Value], candidates: Sequence[str], every: Sequence[_Value]) -> str | None:
    """The plan that validates most values.

    Each candidate is tried on ``sample`` and dropped after four failures outnumbering
    its successes. Candidates tied for most valid values are compared again on
    ``every`` value; then on strongly written values, then on the lowest chance that
    random digits validate. Stops early at a plan in which every sampled value is valid
    and written as the plan writes it.
    """
    scored: list[tuple[int, str]] = []
    for region in candidates:
        valid = fails = 0
        numbers = []
        for p in sample:
            num = _parse_national(p, region)
            if num is None:
                fails += 1
                if fails >= 4 and fails > valid:
                    break
                continue
            valid += 1
            numbers.append((p, num))
        else:
            scored.append((valid, region))
            if valid == len(sample) and all(p.vanity or p.ext or _written_as_plan(p, n) for p, n in numbers):
                return region
    if not scored:
        return None
    top = max(v for v, _ in scored)
    near = [r for v, r in scored if v >= top - 1]
    ranks = {r: _rank(r, every) for r in near} if len(near) > 1 else {near[0]: (top, 0)}
    best = max(ranks.values())
    tied = [r for r in near if ranks[r] == best]
    shapes = [(len(p.digits), p.digits.startswith("0")) for p in every if p.bare]
    if len(tied) > 1:  # still tied: the plan least likely to validate random digits
        tied.sort(key=lambda r: _baseline(r, shapes))
    chosen = tied[0]
    # Digit strings that validate (nearly) as well as numbers with a country code and far
    # more specifically are MSISDNs (447911123456), not national numbers of a lax plan.
    if chosen != INTL and INTL in ranks and ranks[INTL][0] >= 0.9 * best[0] and shapes:
        if _baseline(INTL, shapes) < _baseline(chosen, shapes) - 0.3:
            return INTL
    return chosen


def _rank(region: str, values: Sequence[_Value]) -> tuple[int, int]:
    valid = strong = 0
    for p in values:
        num = _parse_national(p, region)
        if num is not None:
            valid += 1
            strong += bool(p.vanity or p.ext or _written_as_plan(p, num))
    return valid, strong


@functools.cache
def _lengths(region: str) -> tuple[int, int, str]:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or not meta.general_desc.possible_length:
        return 0, 99, ""
    lengths = [n for n in meta.general_desc.possible_length if n > 0]
    return min(lengths), max(lengths), meta.national_prefix or ""


def _length_fits(region: str, sample: Sequence[_Value]) -> bool:
    """Cheap pre-screen before parsing: most digit counts fit the plan's possible lengths
    (minus a trunk prefix; +3 for carrier and mobile tokens such as Argentina's 15)."""
    low, high, ndd = _lengths(region)
    fits = 0
    for p in sample:
        n = len(p.digits) - (len(ndd) if ndd and p.digits.startswith(ndd) else 0)
        fits += low <= n <= high + 3 or low <= len(p.digits) <= high + 3
    return fits * 2 >= len(sample)


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
