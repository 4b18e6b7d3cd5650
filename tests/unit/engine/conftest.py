"""Fixtures for the engine unit tests: the shared BPMN corpus and a small document builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.env import CORPUS

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:flowable="http://flowable.org/bpmn"
    xmlns:activiti="http://activiti.org/bpmn"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    targetNamespace="Examples">
"""


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus folder; the tests that need it are skipped when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(
            f"BPMN corpus not found at {CORPUS.resolve()} (expected ../shared beside the checkout)"
        )
    return CORPUS


def build_bpmn(
    body: str, *, declarations: str = "", executable: bool = True, key: str = "p"
) -> str:
    """A complete document holding one process ``key`` with ``body`` inside it."""
    flag = "true" if executable else "false"
    return (
        f"{HEADER}{declarations}"
        f'<process id="{key}" name="Test" isExecutable="{flag}">\n{body}\n</process>\n'
        "</definitions>\n"
    )


def line_of(xml: str, marker: str) -> int:
    """1-based number of the first line of ``xml`` containing ``marker``."""
    for number, line in enumerate(xml.splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in document")


@pytest.fixture
def bpmn():
    """``bpmn(body, declarations=..., executable=...)`` builds a one-process document."""
    return build_bpmn


@pytest.fixture
def line():
    """``line(xml, marker)``: the line of the first occurrence of ``marker``."""
    return line_of
