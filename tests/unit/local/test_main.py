"""``python -m chalicelib.local --help``: usage and settings, and no server started."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from chalicelib.local import launcher
from tests.support.env import REPO


def test_help_prints_usage_and_starts_nothing():
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST")}
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "chalicelib.local", "--help"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a server would serve until killed
    )
    elapsed = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m chalicelib.local")
    for setting in (
        "HOST",
        "PORT",
        "LOG_LEVEL",
        "AWS_ENDPOINT_URL",
        "WORKFLOW_BACKEND",
        "WORKFLOW_LOCAL_TICK_SECONDS",
        "workflow/",
    ):
        assert setting in result.stdout, setting
    assert "listening" not in result.stdout + result.stderr
    assert elapsed < 20, elapsed  # well under a second unloaded; a busy CI box is slower


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--bogus"]])
def test_help_or_bad_arguments_exit_before_the_launcher_starts(monkeypatch, capsys, argv):
    def no_start(self):
        raise AssertionError("the launcher started")

    monkeypatch.setattr(launcher.Launcher, "start", no_start)
    with pytest.raises(SystemExit) as exit_:
        launcher.main(argv)
    assert exit_.value.code == (2 if argv == ["--bogus"] else 0)
    out, err = capsys.readouterr()
    assert "usage: python -m chalicelib.local" in out + err


def test_options_override_host_and_port(monkeypatch):
    started = {}

    def fake_start(self):
        started.update(host=self.host, port=self.port)
        raise SystemExit(0)

    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "9999")
    monkeypatch.setattr(launcher.Launcher, "start", fake_start)
    monkeypatch.setattr("chalicelib.observability.configure_logging", lambda level: None)
    with pytest.raises(SystemExit):
        launcher.main(["--host", "127.0.0.1", "--port", "0"])
    assert started == {"host": "127.0.0.1", "port": 0}
