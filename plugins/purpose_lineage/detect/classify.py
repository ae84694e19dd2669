"""Column verdicts from warehouse counts plus validation of a bounded sample.

The rules (documented in ``docs/reference/detection.md``):

* A class needs the *majority* of non-null sampled values: its estimated share
  ``prefilter share x validated share`` must reach ``min_fraction`` (0.5).
* **email**: valid per email-validator (``Name <address>`` allowed).
* **phone**: the column must not be dominated by a hard-negative family (dates, epoch
  timestamps, Luhn-valid card numbers, IPs, UUIDs, postal codes, ISBNs, decimals) nor be
  a dense run of digit-only values (counters, order numbers), and one of:
  (a) at least half the candidates are *strongly* written phone numbers (international
  prefix, plan grouping, vanity, extension) and the valid share beats chance: it exceeds
  by 0.15 the share random digits of the same shapes reach in that plan;
  (b) mostly digit-only numbers, >= 85% valid, in a plan where random digits of that
  shape are valid at most half the time;
  (b') digit-only numbers, >= 90% valid *and* starting with the plan's trunk prefix
  ``0`` then a non-zero digit (``0612345678``): numeric IDs do not start with one zero;
  (c) the column name says phone, >= 90% are valid and beat chance, and the name does
  not say otherwise.
* **hashed_identifier**: see :mod:`purpose_lineage.detect.hashes`.

The column name only moves confidence (+0.05 when it agrees, -0.10 when it names
something else) and enables rule (c) together with value evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

from purpose_lineage.detect.emails import validate_emails
from purpose_lineage.detect.hashes import HINTED_LENGTHS, assess_hex
from purpose_lineage.detect.hints import NameHint, name_hint
from purpose_lineage.detect.mask import mask_email, mask_hex, mask_phone
from purpose_lineage.detect.model import (
    EMAIL_CATEGORY,
    PHONE_CATEGORY,
    PSEUDONYMOUS_CATEGORY,
    ColumnSample,
    ConfirmHashes,
    DetectedClass,
    Finding,
)
from purpose_lineage.detect.negatives import dominant_family, is_sequential
from purpose_lineage.detect.phones import DEFAULT_REGIONS, validate_phones

MIN_FRACTION = 0.5
MIN_CONFIDENCE = 0.5
STRONG_SHARE = 0.5
BARE_VALID_SHARE = 0.85
BARE_MAX_BASELINE = 0.5
HINTED_VALID_SHARE = 0.9
TRUNK_SHARE = 0.85
CHANCE_MARGIN = 0.15
EXAMPLES = 3


def classify_column(
    sample: ColumnSample,
    *,
    regions: Sequence[str] = DEFAULT_REGIONS,
    confirm_hashes: ConfirmHashes | None = None,
    min_fraction: float = MIN_FRACTION,
) -> Finding:
    """Classify one column from its sample.

    >>> s = ColumnSample("t", "contact", nonnull=3, phone=3,
    ...                  phone_values=["+1 415-555-2671", "(212) 555-0199", "+44 20 7946 0018"])
    >>> f = classify_column(s)
    >>> f.detected.value, f.category, f.examples[0]
    ('phone', 'user.contact.phone_number', '+1 *** *** **71')
    """
    n = sample.nonnull
    if n == 0:
        return _none(sample, "no values", 0.5)
    hint = name_hint(sample.column)
    results = [
        r
        for r in (
            _email(sample, hint, min_fraction),
            _phone(sample, hint, regions, min_fraction),
            _hashed(sample, hint, confirm_hashes, min_fraction),
        )
        if r is not None
    ]
    positives = [r for r in results if r.is_identifier and r.confidence >= MIN_CONFIDENCE]
    if positives:
        return max(positives, key=lambda r: (r.fraction, r.confidence))
    rejected = [
        r
        if not r.is_identifier
        else _rejected(sample, r.detected.value, f"confidence {r.confidence:.2f} too low", 1 - r.confidence)
        for r in results
    ]
    if rejected:
        return min(rejected, key=lambda r: r.confidence)
    return _none(sample, "no identifier-shaped values", 0.99)


def _email(sample: ColumnSample, hint: NameHint, min_fraction: float) -> Finding | None:
    share = sample.email / sample.nonnull
    if share < min_fraction or not sample.email_values:
        return None
    v = validate_emails(sample.email_values)
    fraction = share * v.valid_share
    if fraction < min_fraction:
        return _rejected(sample, "email", f"{v.valid}/{v.validated} candidate addresses valid", 1 - fraction)
    confidence = _adjust(fraction, agrees=hint.email, disagrees=hint.phone or hint.not_contact)
    return Finding(
        table=sample.table,
        column=sample.column,
        detected=DetectedClass.EMAIL,
        confidence=confidence,
        category=EMAIL_CATEGORY,
        sampled=sample.nonnull,
        candidates=sample.email,
        validated=v.validated,
        valid=v.valid,
        fraction=fraction,
        reason=f"{v.valid}/{v.validated} sampled candidates are valid addresses"
        + (f" ({v.display_names} with display name)" if v.display_names else ""),
        examples=tuple(mask_email(a) for a in v.normalized[:EXAMPLES]),
        data_type=sample.data_type,
    )


def _phone(
    sample: ColumnSample, hint: NameHint, regions: Sequence[str], min_fraction: float
) -> Finding | None:
    share = sample.phone / sample.nonnull
    values = sample.phone_values
    if share < min_fraction or not values:
        return None
    family = dominant_family(values)
    if family:
        return _rejected(sample, "phone", f"phone-shaped values are mostly {family.replace('_', ' ')}s")
    digit_only = [v.strip() for v in values if v.strip().isdigit()]
    if len(digit_only) >= 0.5 * len(values) and is_sequential(digit_only):
        return _rejected(sample, "phone", "digit-only values form a dense sequence (counters, order numbers)")
    v = validate_phones(values, regions=regions)
    fraction = share * v.valid_share
    bare_share = v.bare_valid / v.bare if v.bare else 0.0
    if fraction < min_fraction:
        return _rejected(sample, "phone", f"{v.valid}/{v.validated} phone-shaped values valid", 1 - fraction)
    counts = f"{v.valid}/{v.validated} valid in {v.region}"
    beats_chance = v.clean_share >= v.baseline + CHANCE_MARGIN
    if v.strong_share >= STRONG_SHARE and beats_chance:
        weight, evidence = 1.0, f"{v.strong}/{v.validated} written as phone numbers"
    elif v.bare >= 0.5 * v.validated and bare_share >= BARE_VALID_SHARE and v.baseline <= BARE_MAX_BASELINE:
        weight, evidence = 0.9, f"digit-only, {counts}"
    elif v.bare and v.trunk_valid >= TRUNK_SHARE * v.bare and v.valid_share >= HINTED_VALID_SHARE:
        weight, evidence = 0.85, f"digit-only with trunk prefix 0, {counts}"
    elif hint.phone and not hint.not_contact and v.valid_share >= HINTED_VALID_SHARE and beats_chance:
        weight, evidence = 0.8, f"{counts}, name says phone"
    elif not beats_chance:
        why = f"values {counts}, but {v.baseline:.0%} of random digits of the same shapes would be"
        return _rejected(sample, "phone", why, 0.6)
    elif v.bare:
        why = f"digit-only values {counts}, a plan where {v.baseline:.0%} of random digits are valid"
        return _rejected(sample, "phone", why, 0.6)
    else:
        why = f"values {counts} but not written the way that plan writes numbers"
        return _rejected(sample, "phone", why, 0.6)
    confidence = _adjust(fraction * weight, agrees=hint.phone, disagrees=hint.email or hint.not_contact)
    top = v.regions.most_common(1)
    return Finding(
        table=sample.table,
        column=sample.column,
        detected=DetectedClass.PHONE,
        confidence=confidence,
        category=PHONE_CATEGORY,
        sampled=sample.nonnull,
        candidates=sample.phone,
        validated=v.validated,
        valid=v.valid,
        fraction=fraction,
        region=top[0][0] if top else v.region,
        reason=f"{v.valid}/{v.validated} sampled candidates are valid numbers; {evidence}",
        examples=tuple(mask_phone(e) for e in v.e164[:EXAMPLES]),
        data_type=sample.data_type,
    )


def _hashed(
    sample: ColumnSample, hint: NameHint, confirm: ConfirmHashes | None, min_fraction: float
) -> Finding | None:
    share = sample.hex / sample.nonnull
    if share < min_fraction or not sample.hex_values:
        return None
    v = assess_hex(sample.hex_values, confirm)
    if v.uuid_like:
        return _rejected(sample, "hashed_identifier", "32-hex values are UUIDs")
    if v.confirmed and v.uniform:
        confidence, evidence = 0.99 * share, "confirmed by identifier fingerprints"
    elif hint.hashed_identifier and v.uniform and v.length in HINTED_LENGTHS:
        confidence, evidence = 0.75 * share, f"uniform {v.length}-hex digests, name says hashed identifier"
    else:
        why = "not confirmed by fingerprints" if v.confirmed is False else "no fingerprint confirmation"
        return _rejected(sample, "hashed_identifier", f"hex digests, {why} and no identifier name")
    category = EMAIL_CATEGORY if hint.email else PHONE_CATEGORY if hint.phone else PSEUDONYMOUS_CATEGORY
    return Finding(
        table=sample.table,
        column=sample.column,
        detected=DetectedClass.HASHED_IDENTIFIER,
        confidence=min(confidence, 0.99),
        category=category,
        sampled=sample.nonnull,
        candidates=sample.hex,
        validated=v.validated,
        valid=v.validated,
        fraction=share,
        reason=evidence,
        examples=tuple(mask_hex(h) for h in sample.hex_values[:EXAMPLES]),
        data_type=sample.data_type,
    )


def _adjust(score: float, *, agrees: bool, disagrees: bool) -> float:
    if agrees:
        score += 0.05
    elif disagrees:
        score -= 0.10
    return max(0.0, min(0.99, score))


def _rejected(sample: ColumnSample, cls: str, reason: str, confidence: float = 0.9) -> Finding:
    return _none(sample, f"not {cls}: {reason}", confidence)


def _none(sample: ColumnSample, reason: str, confidence: float) -> Finding:
    """A NONE verdict; ``confidence`` is how sure we are the column holds no identifiers."""
    return Finding(
        table=sample.table,
        column=sample.column,
        detected=DetectedClass.NONE,
        confidence=round(max(0.5, min(0.99, confidence)), 3),
        sampled=sample.nonnull,
        reason=reason,
        data_type=sample.data_type,
    )
