"""The environment every test runs in, set by ``tests/conftest.py`` before ``app`` is imported."""

from __future__ import annotations

from pathlib import Path

TEST_ENV = {
    "WORKFLOW_STAGE": "local",
    "WORKFLOW_BACKEND": "moto",
    "WORKFLOW_REPOSITORY_TABLE": "wf-test-repository",
    "WORKFLOW_RUNTIME_TABLE": "wf-test-runtime",
    "WORKFLOW_HISTORY_TABLE": "wf-test-history",
    "WORKFLOW_DEADLETTER_TABLE": "wf-test-deadletter",
    "WORKFLOW_JOBS_QUEUE": "wf-test-jobs",
    "WORKFLOW_EVENTS_QUEUE": "wf-test-events",
    # the contractorOnboarding sample's HTTP and mail tasks deploy (tests that call out start
    # their own endpoint and allow it; see tests/e2e/test_samples.py)
    "WORKFLOW_HTTP_ALLOW": "http://127.0.0.1:8025/",
    "WORKFLOW_HTTP_SECRET_PROVISIONING": "test-token",
    "WORKFLOW_MAIL_FROM": "workflow@example.com",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


#: The checkout's root.
REPO = Path(__file__).resolve().parents[2]

#: The shared BPMN corpus, beside the checkout (tests that need it skip where it is absent).
CORPUS = REPO.parent / "shared" / "bpmn-corpus"
