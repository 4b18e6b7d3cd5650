"""What the benchmarks share: the environment of a moto-backed bench run and the admin headers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from chalicelib.local import moto_fixes

if TYPE_CHECKING:
    from chalicelib.bootstrap import Container

__all__ = ["ENV", "ADMIN", "moto_container"]

moto_fixes.install()  # moto copies a table once per transaction, not once per write

#: settings of a bench run: embedded moto, bench table and queue names, dummy credentials
ENV = {
    "WORKFLOW_STAGE": "local",
    "WORKFLOW_BACKEND": "moto",
    "WORKFLOW_REPOSITORY_TABLE": "bench-repository",
    "WORKFLOW_RUNTIME_TABLE": "bench-runtime",
    "WORKFLOW_HISTORY_TABLE": "bench-history",
    "WORKFLOW_DEADLETTER_TABLE": "bench-deadletter",
    "WORKFLOW_JOBS_QUEUE": "bench-jobs",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
#: the local administrator, sending JSON
ADMIN = {
    "X-OpenIDM-Username": "openidm-admin",
    "X-OpenIDM-Password": "openidm-admin",
    "Content-Type": "application/json",
}


@contextmanager
def moto_container(on_session: Callable[[], None] | None = None) -> Iterator[Container]:
    """A fresh embedded moto backend with the bench tables and queue, and the real container over
    it, installed for the handlers; ``on_session`` runs once the AWS session is new (to hook it)."""
    from moto import mock_aws

    from chalicelib import aws, bootstrap
    from chalicelib.messaging.sqs import create_queues
    from chalicelib.settings import Settings
    from chalicelib.storage.dynamo import create_tables

    with mock_aws():
        aws.reset_clients()
        if on_session is not None:
            on_session()
        settings = Settings.from_env(ENV)
        create_tables(settings)
        create_queues(settings)
        container = bootstrap.build_container(settings)
        bootstrap.set_container(container)
        try:
            yield container
        finally:
            bootstrap.reset_container()
            aws.reset_clients()
