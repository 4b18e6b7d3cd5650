"""``python -m chalicelib.local.backfill``: backfill running instances written before the
current runtime layout (``listed_variables``, lookup and candidate items) and history written
before the history read model (listed variables, lookup items, counts), against the
configured DynamoDB (``AWS_ENDPOINT_URL``, or real AWS with ``WORKFLOW_BACKEND=aws``).

Only arguments and wiring live here (settings read as the launcher reads them, the DynamoDB
store); it is operator tooling, which no Lambda handler imports. The walks are
``service.instances.backfill`` and ``service.instances.history_backfill``, the index check
``storage.dynamo.tables``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

__all__ = ["main"]

EXIT_MISSING_INDEX = 3
EXIT_NO_BACKEND = 2

_EPILOG = """\
what it does:
  Walks the running instances (the sharded running listing, page by page) and, for each one
  whose stored items lack what the current layout writes, rewrites them in one transaction
  conditioned on the instance's version: the header with its listed_variables, its lookup items
  (lookup-sort index) and the candidate items of its open unassigned tasks (candidate-sort). A
  concurrent commit wins: the instance is re-read and tried again, then counted as a conflict
  (run again later). Instances already current are not written, so a second run changes
  nothing; it may run while the service serves traffic. No data is deleted.

  Then it walks the historic instances (the sharded history listing) and adds what the history
  read model writes: the lookup items of each (history table's lookup-sort index: its state
  and its business key, definition key and id, start user and super instance), and a finished
  instance's listed variables on its process item; then it recounts the history partitions it
  saw (maintained counts of finished, unfinished and each lookup partition). Run it again when
  no instance started or ended during the run to be sure the counts are exact.

  Then it recounts the runtime table's maintained counts (EXACT totals of the listings and
  index partitions) from the running instances and rewrites them: exact when no command commits
  meanwhile (run it again, or while the service is idle, to settle counts that moved).

  Last it moves event-registry start registrations written in the repository table to the
  runtime table, beside the subscriptions of their event type, where inbound events read them
  (one transaction each; a second run moves nothing).

  And it lists each runtime job of a definition in its definition's lookup-sort partition
  (job processDefinitionId queries read it), one conditional rewrite each.

  First it checks that the runtime and history tables have the lookup-sort index (a persistent
  table made before the index lacks it). Without it the command exits with status 3 and prints
  the fix, unless --add-index is given: then it creates the index (UpdateTable) and backfills.

environment (as for `python -m chalicelib.local`; values already set win over the stage's):
  AWS_ENDPOINT_URL   the DynamoDB to use (a moto server, DynamoDB Local); dummy credentials
                     unless set
  WORKFLOW_BACKEND   "aws": real AWS with the ambient credentials
  WORKFLOW_*         table names and the rest, as in chalicelib/settings.py
  Neither set: exits with status 2 (the embedded moto of `make run` starts empty every time).

exit status: 0 done (conflicts are reported, not failures), 1 an instance could not be
written, 2 no backend configured, 3 the lookup-sort index is missing."""


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.local.backfill",
        description=(
            "Backfill running process instances written before the current runtime layout "
            "(listed variables, lookup items, candidate items) so that equality queries, the "
            "definition delete check and candidate task queries find them. Idempotent."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--stage",
        default=None,
        help="stage of .chalice/config.json whose environment is read (default: "
        "WORKFLOW_STAGE, else local)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="count what would be written; write nothing"
    )
    parser.add_argument(
        "--add-index",
        action="store_true",
        help="create the runtime and history tables' missing lookup-sort index (UpdateTable), "
        "then backfill",
    )
    parser.add_argument(
        "--page-size", type=int, default=100, help="running instances read per listing page"
    )
    return parser.parse_args(argv)


def _backend() -> str | None:
    """The backend as the launcher chooses it, without the embedded moto (None: none set)."""
    from ..launcher import DUMMY_CREDENTIALS

    if os.environ.get("AWS_ENDPOINT_URL"):
        os.environ["WORKFLOW_BACKEND"] = "aws"
        for name, value in DUMMY_CREDENTIALS.items():
            os.environ.setdefault(name, value)
        return f"endpoint {os.environ['AWS_ENDPOINT_URL']}"
    if os.environ.get("WORKFLOW_BACKEND", "").strip().lower() == "aws":
        return "aws"
    return None


def _index_command(settings, table_name: str) -> str:
    endpoint = f" --endpoint-url {settings.endpoint_url}" if settings.endpoint_url else ""
    return (
        f"aws dynamodb update-table --table-name {table_name}{endpoint} "
        "--attribute-definitions AttributeName=lookup,AttributeType=S "
        "AttributeName=sort,AttributeType=S --global-secondary-index-updates "
        '\'[{"Create": {"IndexName": "lookup-sort", "KeySchema": '
        '[{"AttributeName": "lookup", "KeyType": "HASH"}, '
        '{"AttributeName": "sort", "KeyType": "RANGE"}], '
        '"Projection": {"ProjectionType": "ALL"}}}]\''
    )


def main(argv: list[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the backfill; returns the exit status (``--help`` prints and exits first)."""
    arguments = _arguments(argv)
    out = out or sys.stdout
    stage = arguments.stage or os.environ.get("WORKFLOW_STAGE") or "local"
    from ..launcher import load_stage_environment

    load_stage_environment(stage)
    backend = _backend()
    if backend is None:
        print(
            "No backend configured: set AWS_ENDPOINT_URL (a moto server, DynamoDB Local) or "
            "WORKFLOW_BACKEND=aws (real AWS). The embedded moto of `make run` starts empty: "
            "there is nothing to backfill there.",
            file=out,
        )
        return EXIT_NO_BACKEND
    from ...service.definitions.event_start_backfill import move_event_starts
    from ...service.instances.backfill import backfill
    from ...service.instances.history_backfill import backfill_history
    from ...service.instances.recount import recount
    from ...service.jobs.backfill import backfill_jobs, recount_jobs
    from ...settings import Settings
    from ...storage.dynamo import DynamoStore, add_index, missing_indexes
    from ...storage.dynamo.models import table_name
    from ...storage.ports import Index, Table

    settings = Settings.from_env(os.environ)
    print(
        f"Backend: {backend}; runtime table {settings.runtime_table}, history table "
        f"{settings.history_table}",
        file=out,
    )
    for table in (Table.RUNTIME, Table.HISTORY):
        if Index.LOOKUP_SORT not in missing_indexes(settings, table):
            continue
        name = table_name(settings, table)
        if not arguments.add_index:
            print(
                f"The {table.value} table {name} has no lookup-sort index (it was made before "
                "the index). Run again with --add-index to create it (UpdateTable; no data is "
                "deleted), or create it yourself:\n  " + _index_command(settings, name),
                file=out,
            )
            return EXIT_MISSING_INDEX
        if arguments.dry_run:
            print(f"Dry run: would create the lookup-sort index of {name}.", file=out)
        else:
            add_index(settings, table, Index.LOOKUP_SORT)
            print(
                f"Creating the lookup-sort index of {name} (DynamoDB builds it in the "
                "background; the queries use it once it is ACTIVE).",
                file=out,
            )
    # the store alone: the container's users file and queue are not needed here
    store = DynamoStore(settings)
    report = backfill(store, dry_run=arguments.dry_run, page_size=arguments.page_size)
    history = backfill_history(store, dry_run=arguments.dry_run, page_size=arguments.page_size)
    for instance_id, reason in report.skipped + history.skipped:
        print(f"skipped {instance_id}: {reason}", file=out)
    prefix = "Dry run, would write: " if report.dry_run else ""
    print(
        prefix + ", ".join(f"{name} {count}" for name, count in report.counts().items()), file=out
    )
    print(
        prefix
        + "history: "
        + ", ".join(f"{name} {count}" for name, count in history.counts().items()),
        file=out,
    )
    written = recount(store, page_size=arguments.page_size, dry_run=arguments.dry_run)
    print(f"{prefix}counter items {written}", file=out)
    moved = move_event_starts(store, dry_run=arguments.dry_run)
    print(f"{prefix}event-registry start registrations moved {moved}", file=out)
    jobs = backfill_jobs(store, dry_run=arguments.dry_run, page_size=arguments.page_size)
    print(f"{prefix}jobs listed by definition {jobs}", file=out)
    job_counters = recount_jobs(store, dry_run=arguments.dry_run, page_size=arguments.page_size)
    print(f"{prefix}job counter items {job_counters}", file=out)
    return 1 if report.failed or history.failed else 0
