"""Masked renderings of identifiers, and a scrubber for messages that could quote data.

Everything the scan prints or returns goes through here: a phone shows its country
code and last two digits, an address the first letter of each part and the top-level
domain, a digest its first four characters.
"""

from __future__ import annotations

import re

import phonenumbers

_EMAILISH = re.compile(r"[^\s@<>'\"]+@[^\s@<>'\"]+")
_NUMBERISH = re.compile(r"\+?[0-9][0-9 ().\-/]{3,}[0-9]")
_HEXISH = re.compile(r"\b[0-9a-fA-F]{16,}\b")


def mask_phone(e164: str) -> str:
    """Country code and last two digits.

    >>> mask_phone("+14155552671")
    '+1 *** *** **71'
    >>> mask_phone("+447911123456")
    '+44 *** *** **56'
    """
    try:
        num = phonenumbers.parse(e164, None)
        cc, nsn = str(num.country_code), phonenumbers.national_significant_number(num)
    except phonenumbers.NumberParseException:
        return "+** *** ***"
    stars = "*" * (len(nsn) - 2) + nsn[-2:]
    groups = [stars[i : i + 3] for i in range(0, len(stars), 3)]
    if len(groups) > 1 and len(groups[-1]) < 2:
        groups[-2:] = [groups[-2] + groups[-1]]
    return f"+{cc} " + " ".join(groups)


def mask_email(address: str) -> str:
    """First letter of the local part and of the domain, and the top-level domain.

    >>> mask_email("john.doe@example.com")
    'j***@e***.com'
    """
    local, _, domain = address.rpartition("@")
    labels = domain.split(".")
    tld = labels[-1] if len(labels) > 1 else ""
    return f"{local[:1]}***@{domain[:1]}***" + (f".{tld}" if tld else "")


def mask_hex(digest: str) -> str:
    """The first four characters and the length.

    >>> mask_hex("d41d8cd98f00b204e9800998ecf8427e")
    'd41d…(32 hex)'
    """
    return f"{digest[:4]}…({len(digest)} hex)"


def scrub(text: str) -> str:
    """Mask anything in a message that could be an identifier (database errors quote values).

    >>> scrub("bad value 'ann@example.org' near +1 415 555 2671")
    "bad value '***@***' near ###"
    """
    text = _EMAILISH.sub("***@***", text)
    text = _HEXISH.sub("<hex>", text)
    return _NUMBERISH.sub("###", text)
