"""The native fingerprint function: a small DuckDB extension, compiled here on first use.

The data-level check computes a keyed HMAC-SHA256 of every sink value. In SQL that is
DuckDB's software ``sha256()`` four times per value plus regular expressions for the
sink key; ``purpose_lineage_fp.c`` does the same in one pass with precomputed HMAC pad
states and the CPU's SHA instructions (the check about 7x faster at 50M rows, see
``benchmarks/data_check.py``). It returns exactly what
:func:`purpose_lineage.core.fingerprint.sink_fingerprint` returns, or NULL where it
leaves the value to the SQL function (non-ASCII text), so the answer of a check never
depends on whether it is loaded.

Why compiled here rather than shipped: an extension is tied to DuckDB's platform and
the package stays a pure-Python wheel that also works from Airflow's plugins folder.
The C file and DuckDB's stable C API headers (``duckdb_capi/``, MIT) ship as package
data; :func:`extension_path` compiles them once per machine with the system C compiler
(``$CC`` or ``cc``) into a private cache folder, keyed by a hash of the sources, flags
and platform. DuckDB loads only signed extensions unless the database is opened with
``allow_unsigned_extensions``; :func:`duckdb_config` gives that setting to the
connections that load this one.

Modes (``[purpose_lineage] native_fingerprints``): ``auto`` (default) uses the extension
when it builds and loads, else the SQL functions, with a warning; ``off`` never builds
or loads it; ``required`` fails the check instead of falling back.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import platform
import shlex
import shutil
import stat
import subprocess
import sysconfig
import tempfile
import threading
from pathlib import Path

from purpose_lineage.errors import DataCheckError

log = logging.getLogger(__name__)

MODES = ("auto", "off", "required")
CACHE_ENV = "PURPOSE_LINEAGE_NATIVE_CACHE"
EXTENSION_NAME = "purpose_lineage_fp"
FUNCTION = "purpose_lineage_fp_native"
C_API_VERSION = "v1.2.0"  # the stable C API the source is written against (see the C file)
EXTENSION_VERSION = "1"
SOURCE = Path(__file__).with_name("purpose_lineage_fp.c")
HEADERS = Path(__file__).with_name("duckdb_capi")
CFLAGS = ("-O3", "-std=c11", "-fPIC", "-shared", "-fvisibility=hidden", "-Wall")
_lock = threading.Lock()
_checked: set[str] = set()  # built and found private in this process


class NativeUnavailable(DataCheckError):
    """The native fingerprint extension could not be built or loaded; the message says why."""


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`MODES`, else a clear error.

    >>> check_mode("auto")
    'auto'
    """
    if mode not in MODES:
        raise NativeUnavailable(
            f"native_fingerprints must be one of {', '.join(MODES)}, not {mode!r} "
            "(set [purpose_lineage] native_fingerprints)"
        )
    return mode


def duckdb_config() -> dict[str, str]:
    """Database settings a connection needs before it can load the (unsigned) extension."""
    return {"allow_unsigned_extensions": "true"}


def cache_dir() -> Path:
    """Where built extensions live: ``$PURPOSE_LINEAGE_NATIVE_CACHE`` or the user's cache folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "purpose-lineage" / "native"


def _compiler() -> list[str]:
    command = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    parts = shlex.split(command)
    if not parts or shutil.which(parts[0]) is None:
        raise NativeUnavailable(f"no C compiler found ({command!r}); install one (e.g. gcc) or set CC")
    return parts


def _duckdb_platform() -> str:
    import duckdb

    with duckdb.connect() as connection:
        row = connection.execute("PRAGMA platform").fetchone()
    return str(row[0]) if row else "unknown"


@functools.cache  # the sources do not change in a process: hash them once, not in every task
def _build_key(compiler: tuple[str, ...]) -> str:
    """Hash of what the built file depends on; the DuckDB platform is read only to build."""
    import duckdb

    digest = hashlib.sha256()
    for part in (SOURCE.read_bytes(), *(h.read_bytes() for h in sorted(HEADERS.glob("*.h")))):
        digest.update(hashlib.sha256(part).digest())
    machine = (sysconfig.get_platform(), platform.libc_ver(), duckdb.__version__)
    digest.update(repr((list(compiler), CFLAGS, machine, C_API_VERSION, EXTENSION_VERSION)).encode())
    return digest.hexdigest()[:24]


def metadata_footer(duckdb_platform: str) -> bytes:
    """The 534-byte trailer DuckDB reads to accept an extension (``scripts/append_metadata.cmake``).

    >>> footer = metadata_footer("linux_amd64")
    >>> len(footer), footer[4:20], b"C_STRUCT" in footer
    (534, b'duckdb_signature', True)
    """

    def field(text: str) -> bytes:
        raw = text.encode()
        if len(raw) > 32:
            raise NativeUnavailable(f"extension metadata field too long: {text!r}")
        return raw + b"\0" * (32 - len(raw))

    fields = ["4", duckdb_platform, C_API_VERSION, EXTENSION_VERSION, "C_STRUCT", "", "", ""]
    return (
        b"\0"  # a WebAssembly custom section ...
        + bytes([147, 4, 16])  # ... of 531 bytes, with a 16-byte name
        + b"duckdb_signature"
        + bytes([128, 4])  # 512 bytes of metadata follow
        + b"".join(field(f) for f in reversed(fields))
        + b"\0" * 256  # no signature: loading needs allow_unsigned_extensions
    )


def _private(path: Path) -> bool:
    """Owned by this user and writable by no one else: safe to load code from."""
    info = path.stat()
    return info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _compile(compiler: list[str], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not _private(target.parent):
        raise NativeUnavailable(
            f"the native cache folder {target.parent} is writable by other users; "
            f"make it private (chmod 700) or set {CACHE_ENV}"
        )
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        built = Path(scratch) / target.name
        command = [*compiler, *CFLAGS, "-I", str(HEADERS), "-o", str(built), str(SOURCE)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise NativeUnavailable(
                f"compiling the native fingerprint extension failed ({shlex.join(command[:1])}, "
                f"exit {done.returncode}): {done.stderr.strip()[-800:]}"
            )
        with built.open("ab") as out:
            out.write(metadata_footer(_duckdb_platform()))
        built.chmod(0o600)
        os.replace(built, target)  # atomic: a concurrent worker sees the old file or this one


def extension_path() -> Path:
    """The built extension for this machine, compiling it on first use.

    Raises :class:`NativeUnavailable` (no compiler, a failed build, an unsafe cache folder).
    """
    compiler = _compiler()
    target = cache_dir() / _build_key(tuple(compiler)) / f"{EXTENSION_NAME}.duckdb_extension"
    with _lock:
        if str(target) in _checked and target.exists():
            return target
        if not target.exists():
            log.info("compiling the native fingerprint extension into %s", target.parent)
            _compile(compiler, target)
        if not (_private(target) and _private(target.parent)):
            raise NativeUnavailable(
                f"{target} is writable by other users; refusing to load it (delete it to rebuild)"
            )
        _checked.add(str(target))
        return target


def load(dbapi_connection: object, path: Path) -> str:
    """``LOAD`` the extension into a DuckDB connection; returns the SHA-256 in use (``avx512``...).

    The connection's database must have been opened with :func:`duckdb_config`.
    """
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute(f"LOAD '{_sql_path(path)}'")
        cursor.execute("SELECT purpose_lineage_fp_native_impl()")
        return str(cursor.fetchone()[0])
    finally:
        cursor.close()


def _sql_path(path: Path) -> str:
    text = str(path)
    if "'" in text:
        raise NativeUnavailable(f"the native cache path may not contain a quote: {text!r}")
    return text
