"""chalicelib.auth.passwords: format, verification, malformed encodings, CLI."""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
import sys

import pytest

from chalicelib.auth.passwords import (
    DEFAULT_ITERATIONS,
    MAX_ITERATIONS,
    hash_password,
    looks_like_password_hash,
    main,
    parse_password_hash,
    verify_password,
)
from tests.support.env import REPO

ROOT = REPO


def test_format_is_algorithm_iterations_salt_base64_of_pbkdf2_sha256():
    encoded = hash_password("s3cret", iterations=1000, salt="pepper")
    algorithm, iterations, salt, digest = encoded.split("$")
    assert (algorithm, iterations, salt) == ("pbkdf2_sha256", "1000", "pepper")
    expected = hashlib.pbkdf2_hmac("sha256", b"s3cret", b"pepper", 1000, 32)
    assert base64.b64decode(digest) == expected
    assert len(base64.b64decode(digest)) == 32


def test_password_is_hashed_as_utf8():
    encoded = hash_password("€uro", iterations=10, salt="s")
    expected = hashlib.pbkdf2_hmac("sha256", "€uro".encode(), b"s", 10, 32)
    assert encoded.endswith(base64.b64encode(expected).decode())


def test_default_iterations_and_random_salt(monkeypatch):
    calls = []
    real = hashlib.pbkdf2_hmac
    monkeypatch.setattr(
        hashlib, "pbkdf2_hmac", lambda *a: calls.append(a) or real(a[0], a[1], a[2], 1, a[4])
    )
    first = hash_password("x")
    second = hash_password("x")
    assert calls[0][3] == DEFAULT_ITERATIONS == 600_000
    assert first.split("$")[1] == "600000"
    assert first.split("$")[2] != second.split("$")[2]  # fresh salt each time
    assert first != second


def test_verify_right_and_wrong():
    encoded = hash_password("correct horse", iterations=1000)
    assert verify_password("correct horse", encoded) is True
    assert verify_password("correct hors", encoded) is False
    assert verify_password("Correct horse", encoded) is False
    assert verify_password("", encoded) is False


def test_verify_uses_the_stored_iterations_and_salt():
    encoded = hash_password("pw", iterations=1234, salt="abc")
    assert verify_password("pw", encoded)
    tampered = encoded.replace("$1234$", "$1235$")
    assert not verify_password("pw", tampered)
    assert not verify_password("pw", encoded.replace("$abc$", "$abd$"))


GOOD = hash_password("pw", iterations=1000, salt="salt")


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "pw",
        "pbkdf2_sha256",
        GOOD.replace("pbkdf2_sha256", "pbkdf2_sha1"),
        GOOD + "$extra",
        GOOD.rsplit("$", 1)[0],
        GOOD.replace("$1000$", "$0$"),
        GOOD.replace("$1000$", "$-5$"),
        GOOD.replace("$1000$", "$01000$"),
        GOOD.replace("$1000$", "$abc$"),
        GOOD.replace("$1000$", f"${MAX_ITERATIONS + 1}$"),
        GOOD.replace("$salt$", "$$"),
        GOOD.replace("$salt$", "$sa lt$"),
        GOOD[:-4] + "!!!!",  # not base64
        GOOD.rsplit("$", 1)[0] + "$" + base64.b64encode(b"x" * 31).decode(),  # wrong length
        None,
        42,
        b"pbkdf2_sha256$1$a$b",
    ],
)
def test_malformed_encodings_are_false_never_an_exception(encoded):
    assert verify_password("pw", encoded) is False
    assert looks_like_password_hash(encoded) is False


@pytest.mark.parametrize("password", [None, 5, b"pw", "\ud800"])
def test_odd_passwords_are_false(password):
    assert verify_password(password, GOOD) is False


def test_parse_errors_never_echo_the_hash():
    with pytest.raises(ValueError) as info:
        parse_password_hash(GOOD[:-4] + "!!!!")
    assert GOOD[-20:-4] not in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"iterations": 0},
        {"iterations": MAX_ITERATIONS + 1},
        {"iterations": True},
        {"iterations": 1.5},
        {"salt": ""},
        {"salt": "a$b"},
        {"salt": "a b"},
        {"salt": "é"},
    ],
)
def test_hash_password_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        hash_password("pw", **kwargs)


def test_hash_password_rejects_empty_password():
    with pytest.raises(ValueError):
        hash_password("", iterations=1)


def test_cli_hashes_the_piped_password(capsys):
    code = main(["--iterations", "1000", "--salt", "abc"], stdin=io.StringIO("openidm-admin\n"))
    out = capsys.readouterr().out.strip()
    assert code == 0
    assert out == hash_password("openidm-admin", iterations=1000, salt="abc")
    assert verify_password("openidm-admin", out)


def test_cli_keeps_spaces_strips_only_the_line_ending(capsys):
    assert main(["--iterations", "10"], stdin=io.StringIO(" pw \r\n")) == 0
    out = capsys.readouterr().out.strip()
    assert verify_password(" pw ", out) and not verify_password("pw", out)


def test_cli_refuses_an_empty_password(capsys):
    assert main(["--iterations", "10"], stdin=io.StringIO("\n")) == 2
    assert "error" in capsys.readouterr().err


def test_cli_runs_as_a_module_without_warnings():
    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "chalicelib.auth.passwords", "--iterations", "1000"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert verify_password("s3cret", result.stdout.strip())
