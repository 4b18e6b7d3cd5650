"""Shared fixtures.

The environment is set here, before anything imports ``app``: Chalice's test client only
patches a stage's environment variables while a request runs, and ``app.py`` reads the jobs
queue name when it is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.env import CORPUS, TEST_ENV

for _name in (
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "WORKFLOW_USERS_FILE",
    "WORKFLOW_PROCESS_ACCESS_FILE",
):
    os.environ.pop(_name, None)
os.environ.update(TEST_ENV)

from chalicelib.local import moto_fixes  # noqa: E402  (after the environment is set)
from tests.support import botocore_loader  # noqa: E402

moto_fixes.install()
botocore_loader.install()


@pytest.fixture(autouse=True)
def _test_environment():
    """Every test starts with the test environment. Chalice's test client swaps the stage's
    variables into ``os.environ`` around each request, which is not thread-safe: requests
    made from several threads at once can leave the stage's values behind."""
    os.environ.update(TEST_ENV)
    yield


@pytest.fixture
def corpus() -> Path:
    """The shared BPMN corpus; tests that need it skip (with the reason) where it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"BPMN corpus not found at {CORPUS} (it lives in ../shared beside the repo)")
    return CORPUS


@pytest.fixture
def settings():
    from chalicelib.settings import Settings

    return Settings.from_env(TEST_ENV)


@pytest.fixture
def moto_backend(settings):
    """moto's DynamoDB and SQS with the service's tables and queues, fresh per test."""
    from moto import mock_aws

    from chalicelib import aws
    from chalicelib.messaging.sqs import create_queues
    from chalicelib.storage.dynamo import create_tables

    with mock_aws():
        aws.reset_clients()
        create_tables(settings)
        create_queues(settings)
        yield settings
        aws.reset_clients()


@pytest.fixture
def container(moto_backend):
    """The real container (pynamodb store, SQS publisher) over moto, installed for handlers."""
    from chalicelib import bootstrap
    from chalicelib.clock import FixedClock

    built = bootstrap.build_container(moto_backend, clock=FixedClock())
    bootstrap.set_container(built)
    yield built
    bootstrap.reset_container()


@pytest.fixture
def memory_container(settings):
    """The container on the in-memory store and publisher (``FixedClock``), installed for
    handlers and workers like ``container``: for service-level tests, no moto."""
    from chalicelib import bootstrap
    from tests.support.memory import memory_container as build

    built = build(settings)
    bootstrap.set_container(built)
    yield built
    bootstrap.reset_container()


@pytest.fixture
def client(container):
    """Chalice's test client over the real container."""
    from chalice.test import Client

    import app as application

    with Client(application.app, stage_name="local") as test_client:
        yield test_client


def pytest_terminal_summary(terminalreporter):
    """Print the wall time of ``make test`` (lint and tests) just above pytest's closing line."""
    started = os.environ.get("WORKFLOW_TEST_STARTED")
    if started and started.isdigit():
        import time

        elapsed = int(time.time()) - int(started)
        terminalreporter.write_line(f"make test wall time: {elapsed // 60} min {elapsed % 60} s")
