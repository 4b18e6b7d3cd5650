"""``python -m chalicelib.local.backfill``: usage without touching anything, and no backend."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from chalicelib.local.backfill import EXIT_NO_BACKEND, main
from tests.support.env import REPO


def test_help_prints_usage_and_touches_nothing():
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env["WORKFLOW_BACKEND"] = "aws"  # would reach AWS, were anything touched
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  # nothing listens there
    result = subprocess.run(
        [sys.executable, "-m", "chalicelib.local.backfill", "--help"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m chalicelib.local.backfill")
    for word in ("--dry-run", "--add-index", "lookup-sort", "AWS_ENDPOINT_URL", "WORKFLOW_BACKEND"):
        assert word in result.stdout, word
    assert "Backend:" not in result.stdout


def test_without_a_backend_it_says_so_and_exits(monkeypatch):
    """The embedded moto of ``make run`` starts empty: no backend set means nothing to do."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("WORKFLOW_BACKEND", "moto")
    out = io.StringIO()
    assert main([], out=out) == EXIT_NO_BACKEND
    assert "AWS_ENDPOINT_URL" in out.getvalue()
