"""The one set-up of a locally launched service, shared by the e2e modules.

Two ways to launch it:

* ``running_launcher(...)``: the ``Launcher`` in this process (tests can also reach its
  container through ``get_container()``); each module wraps it in its own module-scoped fixture
  with the environment it needs.
* ``launched_process(...)``: ``python -m chalicelib.local`` as a subprocess, exactly as
  ``make run`` starts it.

Plus the small things every e2e test uses: a free port, ``wait_until``, a moto server, and
JSON-over-HTTP helpers (``call``, ``get_json``, ``post_json``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.support.env import REPO, TEST_ENV
from tests.support.rest import ADMIN

WF = "/openidm/workflow"
"""The service's route prefix (append it to a launcher's base URL)."""


# --- waiting and ports ---------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.1) -> bool:
    """Poll ``predicate()`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


# --- HTTP ----------------------------------------------------------------------------------


def call(
    url: str, method: str = "GET", headers: dict | None = None, data: bytes | None = None
) -> tuple[int, dict, dict]:
    """One HTTP request: ``(status, response headers, JSON body)``, error statuses included
    (an empty body reads as ``{}``)."""
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"{}")


def get_json(url: str, headers: dict | None = None) -> dict:
    """GET ``url`` (as the admin unless ``headers`` say otherwise), assert 200, return the body."""
    status, _, body = call(url, headers=ADMIN if headers is None else headers)
    assert status == 200, body
    return body


def post_json(url: str, body: dict, headers: dict) -> tuple[int, dict, dict]:
    """POST ``body`` as JSON to ``url``: ``(status, response headers, JSON body)``."""
    return call(url, "POST", headers, json.dumps(body).encode())


# --- launching -----------------------------------------------------------------------------


@contextlib.contextmanager
def running_launcher(*, deploy_workflows: bool = True, **env_overrides: str) -> Iterator:
    """The real ``Launcher`` in this process on a free port, started and (on exit) stopped.

    It starts from the test environment (``TEST_ENV``, whatever earlier tests left; see
    ``conftest._test_environment``) plus ``env_overrides``, with fresh AWS clients (those
    cached by earlier tests belong to their stopped moto). On exit the environment is put back
    and the cached settings, container and clients are forgotten.
    """
    from chalicelib import aws, bootstrap, settings
    from chalicelib.local.launcher import Launcher

    saved = dict(os.environ)
    os.environ.update(TEST_ENV)
    os.environ.update(env_overrides)
    aws.reset_clients()
    running = Launcher("127.0.0.1", free_port(), deploy_workflows=deploy_workflows).start()
    try:
        yield running
    finally:
        running.stop()
        os.environ.clear()
        os.environ.update(saved)
        settings.reset_settings()
        bootstrap.reset_container()
        aws.reset_clients()


@contextlib.contextmanager
def launched_process(
    log_path: Path, *, module: str = "chalicelib.local", **env_overrides: str
) -> Iterator[subprocess.Popen]:
    """``python -m chalicelib.local`` as ``make run`` starts it, until it says where it listens.

    ``module``: another entry point that runs the launcher (``tests.support.crashing_launcher``).

    Its output goes to ``log_path``; ``env_overrides`` (``PORT``, ``HOST``,
    ``AWS_ENDPOINT_URL``...) are added to its environment. The stage comes from
    ``.chalice/config.json``: the test's ``WORKFLOW_*`` settings are removed from the child's
    environment. The process is terminated on exit.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOW_")}
    env.update(PYTHONUNBUFFERED="1", **env_overrides)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_until(lambda: "listening on" in log_path.read_text(), timeout=60), (
            log_path.read_text()
        )
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free port (a persistent stand-in for AWS); yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
