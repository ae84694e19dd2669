"""Column-name hints. A name only nudges confidence and never decides alone.

Names are split into lower-case tokens (``homePhone_E164`` -> ``home``, ``phone``,
``e164``) and matched against small vocabularies in several languages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PHONE_TOKENS = frozenset(
    "phone phones phonenumber tel tele telephone telefon telefono teléfono telephone téléphone mobile mob "
    "mobil cell cellphone cellular celular msisdn fax sms whatsapp handy portable movil móvil ph "
    "phone_number tel_no telno e164".split()
)
EMAIL_TOKENS = frozenset("email emails mail e_mail emailaddress courriel correo mailto em hem".split())
HASH_TOKENS = frozenset("hash hashed sha sha1 sha256 sha2 md5 digest hem hmac fingerprint fp".split())
#: Who a hashed identifier could identify (besides phone and e-mail tokens).
IDENTITY_TOKENS = frozenset("user customer identifier ident uid person member subscriber maid idfa".split())
#: Names of things that are hashed but identify no person.
CONTENT_TOKENS = frozenset(
    "body content file blob commit git checksum etag payload object document doc image tree rev revision "
    "build artifact message msg page url html text chunk block tx transaction parent".split()
)
#: Names of columns that hold numbers or codes which merely look like phone numbers.
NOT_CONTACT_TOKENS = frozenset(
    "order orders zip zipcode postal postcode plz cep pin date ts time timestamp epoch created updated "
    "card pan cc ccnum ip ipv4 ipv6 uuid guid sku isbn ean upc checksum etag commit version amount "
    "price total count qty quantity invoice ticket tracking serial account iban".split()
)

_SPLIT = re.compile(r"[^0-9a-zA-Zà-ÿ]+|(?<=[a-z])(?=[A-Z])")


def tokens(name: str) -> frozenset[str]:
    """Lower-case tokens of a column name.

    >>> sorted(tokens("homePhone_E164"))
    ['e164', 'home', 'phone']
    """
    return frozenset(t.lower() for t in _SPLIT.split(name) if t)


@dataclass(frozen=True)
class NameHint:
    """What a column name suggests."""

    phone: bool = False
    email: bool = False
    hashed: bool = False
    identity: bool = False
    content: bool = False
    not_contact: bool = False

    @property
    def hashed_identifier(self) -> bool:
        """Names like ``email_sha256``, ``hashed_phone``, ``user_hash``: a hash of someone."""
        return self.hashed and (self.phone or self.email or self.identity) and not self.content


def name_hint(name: str) -> NameHint:
    """Read a column name.

    >>> name_hint("email_sha256").hashed_identifier, name_hint("commit_sha").hashed_identifier
    (True, False)
    """
    toks = tokens(name)
    joined = "_".join(sorted(toks))
    return NameHint(
        phone=bool(toks & PHONE_TOKENS) or "phone" in joined,
        email=bool(toks & EMAIL_TOKENS) or "email" in joined,
        hashed=bool(toks & HASH_TOKENS) or "hash" in joined,
        identity=bool(toks & IDENTITY_TOKENS),
        content=bool(toks & CONTENT_TOKENS),
        not_contact=bool(toks & NOT_CONTACT_TOKENS),
    )
