"""``make deploy`` stops with a clear message before doing anything when it cannot deploy."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.support.env import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_deploy(tmp_path, *args: str, aws_status: int | None = 255) -> subprocess.CompletedProcess:
    """``make deploy`` with a stand-in ``aws`` (exiting ``aws_status``; None: no aws at all)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "make", "cksum", "cut", "cat", "test", "awk"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    if aws_status is not None:
        fake = bin_dir / "aws"
        fake.write_text(f'#!/bin/sh\necho "aws $*" >> {tmp_path}/calls\nexit {aws_status}\n')
        fake.chmod(0o755)
    env = dict(os.environ, PATH=str(bin_dir))
    return subprocess.run(
        ["make", "--no-print-directory", "deploy", "STAGE=dev", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_the_aws_cli(tmp_path):
    done = make_deploy(tmp_path, "BUCKET=b", aws_status=None)
    assert done.returncode != 0 and "the aws CLI is not installed" in done.stderr


def test_without_a_bucket(tmp_path):
    done = make_deploy(tmp_path)
    assert done.returncode != 0 and "set BUCKET=" in done.stderr


def test_without_credentials(tmp_path):
    done = make_deploy(tmp_path, "BUCKET=b")
    assert done.returncode != 0 and "no usable AWS credentials" in done.stderr
    assert (tmp_path / "calls").read_text() == "aws sts get-caller-identity\n"
