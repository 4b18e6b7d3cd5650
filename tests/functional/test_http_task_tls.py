"""The HTTP task over HTTPS: the certificate is always checked, against the URL's host, on the
connection to the address that was checked. A local TLS server with a self-signed certificate
for 127.0.0.1 (made with the ``openssl`` command; skipped without it)."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest

from tests.support.http_server import serve
from tests.support.http_tasks import run, the_job, waiting_at

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def server(certificate):
    yield from serve(certificate)


@pytest.fixture
def settings(server):
    from chalicelib.settings import Settings
    from tests.support.env import TEST_ENV

    return Settings.from_env(dict(TEST_ENV, WORKFLOW_HTTP_ALLOW=server.base))


def test_a_self_signed_certificate_is_refused(container, server):
    assert server.base.startswith("https://127.0.0.1:")
    instance = run(container, {"requestMethod": "GET", "requestUrl": f"{server.base}/test"})
    message = the_job(container, instance)["exceptionMessage"]
    assert "CERTIFICATE_VERIFY_FAILED" in message and server.base in message
    assert server.received == []


def test_a_trusted_certificate_is_checked_against_the_host(
    container, server, certificate, monkeypatch
):
    trusted = ssl.create_default_context(cafile=certificate[0])
    monkeypatch.setattr(ssl, "_create_default_https_context", lambda: trusted)
    instance = run(container, {"requestMethod": "GET", "requestUrl": f"{server.base}/test"})
    assert waiting_at(container, instance) == ["after"]
    [request] = server.received
    assert request.path == "/test"
