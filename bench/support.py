"""What the benchmarks share: the environment of a moto-backed bench run and the admin headers."""

from __future__ import annotations

from chalicelib.local import moto_fixes

__all__ = ["ENV", "ADMIN"]

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
