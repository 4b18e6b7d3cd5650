"""Salted PBKDF2-SHA256 password hashes, in the one encoding the users file accepts.

Format: ``pbkdf2_sha256$<iterations>$<salt>$<base64 hash>``

* ``iterations``: a positive decimal integer (no sign, no leading zero).
* ``salt``: printable ASCII text without ``$``. It is stored as the text given and fed to PBKDF2 as
  its UTF-8 bytes (which, for ASCII, are the characters themselves). Generated salts are 22
  characters of URL-safe base64 (16 random bytes).
* ``base64 hash``: standard base64 (with padding) of the 32-byte derived key of
  ``hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode("utf-8"), iterations)``.

``verify_password`` never raises on what a client sends: a malformed encoding is simply False.
``parse_password_hash`` is the strict parser the users-file loader uses to fail loudly.

Provision a user (the password is read from the terminal, or from stdin when piped)::

    python -m chalicelib.auth.passwords
    printf '%s' "$PASSWORD" | python -m chalicelib.auth.passwords --iterations 600000
"""

from __future__ import annotations

import argparse
import base64
import binascii
import getpass
import hashlib
import hmac
import re
import secrets
import sys
from dataclasses import dataclass

__all__ = [
    "ALGORITHM",
    "DEFAULT_ITERATIONS",
    "MAX_ITERATIONS",
    "DIGEST_SIZE",
    "PasswordHash",
    "hash_password",
    "verify_password",
    "parse_password_hash",
    "looks_like_password_hash",
    "main",
]

ALGORITHM = "pbkdf2_sha256"
#: OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
DEFAULT_ITERATIONS = 600_000
#: An encoding asking for more work than this is refused (a typo, or a denial-of-service trap).
MAX_ITERATIONS = 10_000_000
DIGEST_SIZE = 32

_SALT = re.compile(r"^[\x21-\x23\x25-\x7e]+$")  # printable ASCII, no space, no "$"
_ITERATIONS = re.compile(r"^[1-9][0-9]{0,9}$")


@dataclass(frozen=True)
class PasswordHash:
    """A parsed ``pbkdf2_sha256$...`` encoding."""

    iterations: int
    salt: str
    digest: bytes

    def encode(self) -> str:
        """Back to the ``pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`` text."""
        return (
            f"{ALGORITHM}${self.iterations}${self.salt}$"
            f"{base64.b64encode(self.digest).decode('ascii')}"
        )

    def matches(self, password: str) -> bool:
        """Whether ``password`` hashes to this digest (constant-time comparison)."""
        try:
            candidate = _derive(password, self.salt, self.iterations)
        except UnicodeEncodeError:  # lone surrogates cannot be a stored password
            return False
        return hmac.compare_digest(candidate, self.digest)


def _derive(password: str, salt: str, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac(
        "sha256", password.encode("utf-8"), salt.encode("utf-8"), iterations, DIGEST_SIZE
    )


def _check_salt(salt: str) -> None:
    if not isinstance(salt, str) or not _SALT.match(salt):
        raise ValueError("salt must be non-empty printable ASCII without spaces or '$'")


def hash_password(
    password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: str | None = None
) -> str:
    """Hash ``password`` into ``pbkdf2_sha256$<iterations>$<salt>$<base64 hash>``.

    ``salt`` defaults to 16 random bytes as URL-safe base64. Raises ``ValueError`` for an empty
    password, an iteration count outside ``1..MAX_ITERATIONS`` or a salt that cannot be stored.
    """
    if not isinstance(password, str) or not password:
        raise ValueError("password must be a non-empty string")
    if (
        isinstance(iterations, bool)
        or not isinstance(iterations, int)
        or not 1 <= iterations <= MAX_ITERATIONS
    ):
        raise ValueError(f"iterations must be an integer in 1..{MAX_ITERATIONS}")
    if salt is None:
        salt = secrets.token_urlsafe(16)
    _check_salt(salt)
    return PasswordHash(iterations, salt, _derive(password, salt, iterations)).encode()


def parse_password_hash(encoded: str) -> PasswordHash:
    """Parse an encoding strictly; ``ValueError`` (never naming the hash itself) when malformed."""
    if not isinstance(encoded, str):
        raise ValueError("a password hash must be a string")
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM:
        raise ValueError(
            f"a password hash must look like {ALGORITHM}$<iterations>$<salt>$<base64 hash>"
        )
    _, iterations_text, salt, digest_text = parts
    if not _ITERATIONS.match(iterations_text) or int(iterations_text) > MAX_ITERATIONS:
        raise ValueError(f"the iteration count must be an integer in 1..{MAX_ITERATIONS}")
    _check_salt(salt)
    try:
        digest = base64.b64decode(digest_text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("the hash is not valid base64") from None
    if len(digest) != DIGEST_SIZE:
        raise ValueError(f"the hash must be {DIGEST_SIZE} bytes")
    return PasswordHash(int(iterations_text), salt, digest)


def looks_like_password_hash(text: object) -> bool:
    """True when ``text`` parses as a password hash."""
    try:
        parse_password_hash(text)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``. Malformed input of either kind is False."""
    if not isinstance(password, str):
        return False
    try:
        parsed = parse_password_hash(encoded)
    except ValueError:
        return False
    return parsed.matches(password)


def _read_password(stream) -> str:
    if stream.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            raise ValueError("the passwords do not match")
        return first
    line = stream.readline()
    for ending in ("\r\n", "\n"):  # strip the line ending only; keep other whitespace as typed
        if line.endswith(ending):
            return line[: -len(ending)]
    return line


def main(argv: list[str] | None = None, stdin=None, stdout=None) -> int:
    """CLI: print the hash of a password read from the terminal (or stdin when piped)."""
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.auth.passwords",
        description="Print a pbkdf2_sha256 hash for the users file (WORKFLOW_USERS_FILE).",
    )
    parser.add_argument(
        "--iterations",
        type=int,
        default=DEFAULT_ITERATIONS,
        help=f"PBKDF2 iterations (default {DEFAULT_ITERATIONS})",
    )
    parser.add_argument("--salt", default=None, help="salt text (default: random)")
    args = parser.parse_args(argv)
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    try:
        password = _read_password(stdin)
        print(hash_password(password, iterations=args.iterations, salt=args.salt), file=stdout)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
