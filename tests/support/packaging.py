"""The dev stage packaged offline once per test process (``chalice package``, no wheels)."""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any


@functools.cache
def packaged_dev() -> Path:
    """The output directory of ``package("dev", ..., no_deps=True)``: sam.json, deployment.zip."""
    from chalicelib.deploy.__main__ import package

    out = Path(tempfile.mkdtemp(prefix="package-dev-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    return Path(package("dev", out, no_deps=True)).parent


def dev_template() -> dict[str, Any]:
    """A fresh copy of the packaged dev stage's SAM template."""
    return json.loads((packaged_dev() / "sam.json").read_text())
