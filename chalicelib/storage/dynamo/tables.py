"""Create the stage's four tables (local launcher and tests; deploys use the merge template).

Each table: hash ``pk``, range ``sk``, its sparse GSIs (projection ALL), PAY_PER_REQUEST billing
and TTL on ``expires``. Idempotent: existing tables are left as they are.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from pynamodb.exceptions import TableError

from ... import errors
from ...settings import Settings
from ..ports import Table
from .models import model_for

__all__ = ["create_tables", "delete_tables"]


def create_tables(settings: Settings, *, lock: AbstractContextManager | None = None) -> None:
    """Create every missing table of ``settings`` (with indexes and TTL) and wait until active."""
    with lock if lock is not None else nullcontext():
        for table in Table:
            model = model_for(settings, table)
            if model.exists():
                continue
            try:
                model.create_table(wait=True)
            except TableError as exc:
                if exc.cause_response_code != "ResourceInUseException":  # created meanwhile
                    raise errors.ServiceUnavailable(f"Cannot create table {table.value}") from exc


def delete_tables(settings: Settings, *, lock: AbstractContextManager | None = None) -> None:
    """Delete the stage's tables if they exist (tests and local resets only)."""
    with lock if lock is not None else nullcontext():
        for table in Table:
            model = model_for(settings, table)
            if model.exists():
                model.delete_table()
