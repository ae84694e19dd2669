"""Table names, the schema catalog and the function classes the SQL analyser needs.

Every name is lower-cased (as :func:`~purpose_lineage.core.model.normalize_table` does),
so ``"Users_2FA"."Phone"`` and ``users_2fa.phone`` are the same column. A table is
named as the SQL writes it, qualified only when the SQL qualifies it, when
``default_table_prefix`` is given, or when exactly one catalog key ends with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlglot import exp

from purpose_lineage.core.model import normalize_table

# Functions that hide the raw value of their first argument: hashes, encodings, truncations.
MASKING_NAMES = frozenset(
    {
        "hash",
        "xxhash",
        "xxhash32",
        "xxhash64",
        "xxh3",
        "xxh64",
        "xxh3_64",
        "farm_fingerprint",
        "fingerprint",
        "murmurhash3",
        "murmur3",
        "murmur_hash3_32",
        "crc32",
        "cityhash64",
        "sha",
        "sha1",
        "sha224",
        "sha256",
        "sha384",
        "sha512",
        "sha2",
        "sha3",
        "md5",
        "md5_hex",
        "md5_binary",
        "md5_number",
        "md5_number_lower64",
        "md5_number_upper64",
        "sha1_hex",
        "sha1_binary",
        "sha2_hex",
        "sha2_binary",
        "hash_md5",
        "hash_sha1",
        "hash_sha256",
        "digest",
        "hmac",
        "keyed_hash",
        "standard_hash",
        "hash_agg",
        "base64",
        "to_base64",
        "base64_encode",
        "encode_base64",
        "hex",
        "to_hex",
        "hex_encode",
        "encode",
        "left",
        "right",
        "substr",
        "substring",
        "mid",
        "strleft",
        "strright",
        "encrypt",
        "aes_encrypt",
        "pgp_sym_encrypt",
        "mask",
        "mask_hash",
        "mask_first_n",
        "mask_last_n",
        "mask_show_first_n",
        "mask_show_last_n",
        "redact",
    }
)


def _masking_classes() -> tuple[type[exp.Func], ...]:
    classes = []
    for cls in exp.ALL_FUNCTIONS:
        if cls is exp.Anonymous:
            continue
        if {name.lower() for name in cls.sql_names()} & MASKING_NAMES:
            classes.append(cls)
    return tuple(classes)


MASKING_CLASSES: tuple[type[exp.Func], ...] = _masking_classes()


def is_masking(node: exp.Expr) -> bool:
    """Whether ``node`` is a hash, encoding or truncation of its first argument.

    >>> import sqlglot
    >>> is_masking(sqlglot.parse_one("sha256(phone)", read="duckdb"))
    True
    >>> is_masking(sqlglot.parse_one("lower(phone)"))
    False
    """
    if isinstance(node, exp.Anonymous):
        return node.name.lower() in MASKING_NAMES
    return isinstance(node, MASKING_CLASSES)


def table_parts(table: exp.Table) -> list[str]:
    """``[catalog, db, name]`` parts that are present, lower-cased."""
    return [p.lower() for p in (table.catalog, table.db, table.name) if p]


def column_node(table: str, column: str) -> exp.Column:
    """A column qualified by its (normalised, dotted) table name, for predicates."""
    parts = table.split(".")
    node = exp.Column(this=exp.to_identifier(column), table=exp.to_identifier(parts[-1]))
    if len(parts) > 1:
        node.set("db", exp.to_identifier(parts[-2]))
    if len(parts) > 2:
        node.set("catalog", exp.to_identifier(".".join(parts[:-2])))
    return node


def _is_table_entry(value: object) -> bool:
    return isinstance(value, Mapping) or (isinstance(value, Sequence) and not isinstance(value, str))


class Catalog:
    """Known tables and their columns, updated as a script creates and drops tables."""

    def __init__(
        self,
        schema: Mapping[str, object] | None = None,
        default_table_prefix: str | None = None,
    ) -> None:
        self.tables: dict[str, tuple[str, ...]] = {}
        self.prefix = normalize_table(default_table_prefix) if default_table_prefix else None
        self._suffixes: dict[str, set[str]] = {}
        if schema:
            self._load(schema, "")

    def _load(self, schema: Mapping[str, object], prefix: str) -> None:
        for key, value in schema.items():
            name = normalize_table(f"{prefix}.{key}" if prefix else str(key))
            if isinstance(value, Mapping):
                if value and all(_is_table_entry(v) for v in value.values()):
                    self._load(value, name)  # nested {db: {table: {col: type}}}
                    continue
                self.add(name, [str(c) for c in value])
            elif isinstance(value, Sequence) and not isinstance(value, str):
                self.add(name, [str(c) for c in value])
            else:
                raise TypeError(f"catalog entry for {name!r} must map columns to types or list them")

    def copy(self) -> Catalog:
        other = Catalog(default_table_prefix=None)
        other.prefix = self.prefix
        other.tables = dict(self.tables)
        other._suffixes = {k: set(v) for k, v in self._suffixes.items()}
        return other

    def add(self, name: str, columns: Sequence[str]) -> None:
        self.tables[name] = tuple(dict.fromkeys(c.strip('"`[]').lower() for c in columns))
        parts = name.split(".")
        for i in range(1, len(parts)):
            self._suffixes.setdefault(".".join(parts[i:]), set()).add(name)

    def remove(self, name: str) -> None:
        self.tables.pop(name, None)
        for names in self._suffixes.values():
            names.discard(name)

    def columns(self, name: str) -> tuple[str, ...] | None:
        return self.tables.get(name)

    def resolve(self, parts: Sequence[str], defined: Mapping[str, object] = {}) -> str:  # noqa: B006
        """The canonical name of a table written as ``parts``."""
        written = ".".join(parts)
        if written in self.tables or written in defined:
            return written
        if self.prefix and len(parts) == 1:
            return f"{self.prefix}.{written}"
        matches = self._suffixes.get(written)
        if matches and len(matches) == 1:
            return next(iter(matches))
        return written
