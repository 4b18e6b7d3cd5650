"""``make smoke`` against what ``make run`` serves: the real launcher over HTTP."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from chalicelib.deploy import smoke
from tests.support.env import REPO
from tests.support.launcher import running_launcher


@pytest.fixture(scope="module")
def base_url():
    with running_launcher(deploy_workflows=False, WORKFLOW_LOCAL_TICK_SECONDS="0.2") as running:
        yield running.url


def test_smoke_check_passes_against_the_launcher(base_url):
    said: list[str] = []
    instance = smoke.run(base_url, smoke.credentials(None, None, None), timeout=30, say=said.append)
    assert instance
    assert said[-1] == "ok  smoke check passed"
    assert any("timer fired" in line for line in said), said


def test_smoke_check_fails_clearly_on_bad_credentials(base_url):
    with pytest.raises(smoke.SmokeFailure, match="check the credentials"):
        smoke.run(base_url, smoke.credentials(None, "openidm-admin", "wrong"), timeout=5)


def test_smoke_check_fails_clearly_when_nothing_listens():
    with pytest.raises(smoke.SmokeFailure, match="cannot connect"):
        smoke.run("http://127.0.0.1:9", smoke.credentials(None, None, None), timeout=1)


def test_the_command_exit_status(base_url, capsys):
    from chalicelib.deploy.__main__ import main

    assert main(["smoke", base_url, "--password", "wrong"]) == 1
    assert "FAIL" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_smoke_passes_against_the_launcher(base_url):
    done = subprocess.run(
        ["make", "--no-print-directory", "smoke", f"URL={base_url}", f"PYTHON={sys.executable}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok  smoke check passed" in done.stdout
