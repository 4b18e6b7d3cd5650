"""Fixtures for the executor tests: an in-memory world whose instances live as JSON items.

Every command in these tests starts from records decoded from JSON text and commits only its
change set back (``InMemoryWorld(verify=True)`` checks the stored items equal the state).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.clock import FixedClock
from tests.support.env import CORPUS
from tests.support.world import InMemoryWorld


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def world(clock) -> InMemoryWorld:
    return InMemoryWorld(clock, verify=True)


@pytest.fixture
def flowable_corpus() -> Path:
    folder = CORPUS / "flowable"
    if not folder.is_dir():
        pytest.skip(f"BPMN corpus not found at {folder} (it lives in ../shared beside the repo)")
    return folder
