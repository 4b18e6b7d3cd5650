"""engine/ stays pure: no AWS SDK, no persistence library, no web framework, no eval/exec."""

from __future__ import annotations

import re

import pytest

from tests.support.env import REPO

ENGINE = REPO / "chalicelib" / "engine"
SOURCES = sorted(ENGINE.rglob("*.py"))
FORBIDDEN_IMPORT = re.compile(r"^\s*(import|from)\s+(boto3|botocore|pynamodb|chalice)\b", re.M)
DYNAMIC_CODE = re.compile(r"(^|[^.\w])(eval|exec)\(")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_engine_module_is_pure(path):
    text = path.read_text(encoding="utf-8")
    assert not FORBIDDEN_IMPORT.search(text)
    assert not DYNAMIC_CODE.search(text)


def test_public_api():
    import chalicelib.engine as engine

    assert {"parse_bpmn", "validate", "validate_bpmn"} <= set(engine.__all__)
