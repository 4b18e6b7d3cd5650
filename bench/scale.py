"""DynamoDB requests and items read per query at N = 1,000 and N = 10,000 instances (issue 11).

One instance of a small process (start -> user task with a candidate group -> end; variables
``n``, ``group``, ``note``; a business key; a start user) is started through the service, and a
second one is started and completed. Their items (runtime: header, executions, variables, task,
candidate, lookup, variable lookup and instance key items; history: process, task, variables,
activity segment) are the templates that ``bulk_write`` clones, with new time-ordered ids, through the storage layer
(``ItemStore.batch_put``, BatchWriteItem): instance ``i`` has business key ``bk-<i>``, start user
``user-<i % 50>``, ``n = i % 100`` (its variable lookup item keyed ``var:n=<i % 100>``: the
value marker is replaced inside index keys too), candidate group ``g<i % 10>`` (``internal/role/openidm-admin``
when ``i % 10 == 0``), starts ``i`` minutes after the first, and every tenth one has finished;
the numbers ending in 5 have their task assigned and a ``note`` over 4 KB (their headers name
their variables instead of holding them).
``bulk_jobs`` writes one job per ``i`` beside them (timers and async continuations, every
twentieth one in the dead-letter table).

Then every query of issue 11 and the IDM UI queries of the API reference run through the HTTP
handler (Chalice test client, admin headers) while ``aws.counting()`` counts DynamoDB requests
and an ``after-call`` hook adds up the items each response read (Query/Scan ``Count``). Per
query: requests at each N, their ratio, whether a ``pagedResultsCookie`` came back, and PASS or
OVER against the goals (the same request count at both N within the shard count; an EXACT
total in at most 5 requests, counted as what the query adds to its twin without EXACT; a page
of 10 in at most 10 requests). Reports only: never fails. The clones' maintained counts are
added as their commits would have added them (``counters.membership_deltas``).

``BENCH_SCALE_N`` (default ``1000,10000``) picks the sizes, e.g. ``BENCH_SCALE_N=1000,5000``.
Run with ``make bench`` or ``python bench/scale.py``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.support import ADMIN, ENV, moto_container  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SIZES = [int(n) for n in os.environ.get("BENCH_SCALE_N", "1000,10000").split(",") if n.strip()]
#: goals of issue 11
SHARD_SLACK = 8
EXACT_MAX = 5
PAGE_MAX = 10

SCALE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="bench">
  <process id="benchScale" name="Scale" isExecutable="true">
    <startEvent id="start" flowable:initiator="starter"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review" flowable:candidateGroups="${group}"
              flowable:candidateUsers="${starter}"/>
    <sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""

#: the ``note`` of the assigned clones: more than the 4 KB of variables a header lists
BIG_NOTE = "bench " * 700
#: markers of the template instances, replaced per clone
BK, USER, GROUP, N_MARK = "bkxtmplx", "userxtmplx", "grpxtmplx", 987654321
_ID = r"(?<![0-9a-z])[0-9a-hjkmnp-tv-z]{26}(?![0-9a-z])"
_ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
_TOKENS = re.compile(f"{_ID}|{_ISO}|{BK}|{USER}|{GROUP}|{N_MARK}")

#: (label, path and query, goals): goals among "exact" (<= 5 requests), "page" (<= 10)
QUERIES: list[tuple[str, str, tuple[str, ...]]] = [
    ("instances true p10", "processinstance?_queryFilter=true&_pageSize=10", ("page",)),
    (
        "instances true p10 EXACT",
        "processinstance?_queryFilter=true&_pageSize=10&_totalPagedResultsPolicy=EXACT",
        ("page", "exact"),
    ),
    ("instances var-n=7", "processinstance?_queryId=filtered-query&var-n=7", ()),
    (
        "instances definitionKey eq p10 EXACT",
        'processinstance?_queryFilter=processDefinitionKey eq "benchScale"&_pageSize=10'
        "&_totalPagedResultsPolicy=EXACT",
        ("page", "exact"),
    ),
    (
        "tasks true p10 EXACT",
        "taskinstance?_queryFilter=true&_pageSize=10&_totalPagedResultsPolicy=EXACT",
        ("page", "exact"),
    ),
    (
        "tasks candidateGroup g3 p10 EXACT",
        "taskinstance?_queryId=filtered-query&taskCandidateGroup=g3&_pageSize=10"
        "&_totalPagedResultsPolicy=EXACT",
        ("page", "exact"),
    ),
    (
        "instances var-n=7 p10",
        "processinstance?_queryId=filtered-query&var-n=7&_pageSize=10",
        ("page",),
    ),
    (
        "instances processVariables/n eq 7 p10",
        "processinstance?_queryFilter=processVariables/n eq 7&_pageSize=10",
        ("page",),
    ),
    ("instances businessKey eq", 'processinstance?_queryFilter=businessKey eq "bk-7"', ()),
    (
        "instances definitionKey eq p10",
        'processinstance?_queryFilter=processDefinitionKey eq "benchScale"&_pageSize=10',
        ("page",),
    ),
    (
        "instances startUserId eq p10",
        'processinstance?_queryFilter=startUserId eq "user-7"&_pageSize=10',
        ("page",),
    ),
    (
        "instances -startTime p10",
        "processinstance?_queryFilter=true&_sortKeys=-startTime&_pageSize=10",
        ("page",),
    ),
    ("history true p10", "processinstance/history?_queryFilter=true&_pageSize=10", ("page",)),
    (
        "history true p10 EXACT",
        "processinstance/history?_queryFilter=true&_pageSize=10&_totalPagedResultsPolicy=EXACT",
        ("page",),
    ),
    (
        "history unfinished -startTime p10",
        "processinstance/history?_queryId=filtered-query&unfinished=true"
        "&_sortKeys=-startTime&_pageSize=10",
        ("page",),
    ),
    (
        "history businessKey eq",
        'processinstance/history?_queryFilter=businessKey eq "bk-7"',
        ("page",),
    ),
    (
        "history definitionKey eq finished p10",
        'processinstance/history?_queryFilter=processDefinitionKey eq "benchScale" and endTime pr'
        "&_pageSize=10",
        ("page",),
    ),
    (
        "history startUserId eq p10",
        "processinstance/history?_queryId=filtered-query&startUserId=user-7&_pageSize=10",
        ("page",),
    ),
    # _pagedResultsOffset skips on key-only items (QuerySource.skip): history's lookup items,
    # the running instances' key items (listing and lookup partitions); the page's items alone
    # are read (one BatchGetItem), at any offset up to MAX_OFFSET
    (
        "history definitionKey p10 offset 500",
        "processinstance/history?_queryId=filtered-query&processDefinitionKey=benchScale"
        "&_pageSize=10&_pagedResultsOffset=500",
        ("page",),
    ),
    (
        "UI admin completed p10 offset 80",
        "processinstance/history?_queryId=filtered-query&finished=true"
        "&_sortKeys=-startTime&_pageSize=10&_pagedResultsOffset=80",
        ("page",),
    ),
    (
        "UI admin active p10 offset 200",
        "processinstance?_queryId=filtered-query&_sortKeys=-startTime&_pageSize=10"
        "&_pagedResultsOffset=200",
        ("page",),
    ),
    (
        "running definitionKey p10 offset 200",
        "processinstance?_queryId=filtered-query&processDefinitionKey=benchScale"
        "&_sortKeys=-startTime&_pageSize=10&_pagedResultsOffset=200",
        ("page",),
    ),
    ("executions true p10", "execution?_queryFilter=true&_pageSize=10", ("page",)),
    (
        "executions businessKey",
        "execution?_queryId=filtered-query&processInstanceBusinessKey=bk-7",
        ("page",),
    ),
    (
        "executions definitionKey p10",
        "execution?_queryId=filtered-query&processDefinitionKey=benchScale&_pageSize=10",
        ("page",),
    ),
    (
        "executions activityId eq p10",
        'execution?_queryFilter=activityId eq "review"&_pageSize=10',
        ("page",),
    ),
    (
        "tasks candidateGroup g3 p10",
        "taskinstance?_queryId=filtered-query&taskCandidateGroup=g3&_pageSize=10",
        ("page",),
    ),
    ("tasks true p10", "taskinstance?_queryFilter=true&_pageSize=10", ("page",)),
    ("jobs true p10", "job?_queryFilter=true&_pageSize=10", ("page",)),
    (
        "jobs timersOnly p10",
        "job?_queryId=filtered-query&timersOnly=true&_pageSize=10",
        ("page",),
    ),
    (
        "jobs processDefinitionId p10",
        "job?_queryId=filtered-query&processDefinitionId=benchScale:1:bench&_pageSize=10",
        ("page",),
    ),
    ("jobs processInstanceId", "job?_queryId=filtered-query&processInstanceId={job7i}", ("page",)),
    ("jobs jobId", "job?_queryId=filtered-query&jobId={job7}", ("page",)),
    ("dead-letter jobs true p10", "job/deadletter?_queryFilter=true&_pageSize=10", ("page",)),
    (
        "dead-letter withException p10",
        "job/deadletter?_queryId=filtered-query&withException=true&_pageSize=10",
        ("page",),
    ),
    ("definitions true", "processdefinition?_queryFilter=true", ()),
    # the IDM UIs (API reference §3.3, §3.4)
    (
        "UI admin active -startTime p10",
        "processinstance?_queryId=filtered-query&_sortKeys=-startTime&_pageSize=10",
        ("page",),
    ),
    (
        "UI admin completed p10",
        "processinstance/history?_queryId=filtered-query&finished=true"
        "&_sortKeys=-startTime&_pageSize=10",
        ("page",),
    ),
    (
        "UI admin completed p10 EXACT",
        "processinstance/history?_queryId=filtered-query&finished=true"
        "&_sortKeys=-startTime&_pageSize=10&_totalPagedResultsPolicy=EXACT",
        ("page",),
    ),
    ("UI admin tasks p10", "taskinstance?_queryId=filtered-query&_pageSize=10", ("page",)),
    (
        "UI admin unassigned p10",
        "taskinstance?_queryId=filtered-query&unassigned=true&_pageSize=10",
        ("page",),
    ),
    (
        "UI admin unassigned p10 EXACT",
        "taskinstance?_queryId=filtered-query&unassigned=true&_pageSize=10"
        "&_totalPagedResultsPolicy=EXACT",
        ("page", "exact"),
    ),
    (
        "UI admin unassigned -createTime p10",
        "taskinstance?_queryId=filtered-query&unassigned=true&_sortKeys=-createTime&_pageSize=10",
        ("page",),
    ),
    (
        "UI admin tasks -createTime p10",
        "taskinstance?_queryId=filtered-query&_sortKeys=-createTime&_pageSize=10",
        ("page",),
    ),
    (
        "tasks definitionKey p10",
        "taskinstance?_queryId=filtered-query&processDefinitionKey=benchScale&_pageSize=10",
        ("page",),
    ),
    (
        "tasks definitionKey p10 EXACT",
        "taskinstance?_queryId=filtered-query&processDefinitionKey=benchScale&_pageSize=10"
        "&_totalPagedResultsPolicy=EXACT",
        ("page", "exact"),
    ),
    (
        "tasks definitionId eq p10",
        'taskinstance?_queryFilter=processDefinitionId eq "{pdi}"&_pageSize=10',
        ("page",),
    ),
    (
        "UI admin assignee p10",
        "taskinstance?_queryId=filtered-query&assignee=openidm-admin&_pageSize=10",
        ("page",),
    ),
    (
        "UI enduser unassignedTaskQuery",
        "taskinstance?_queryId=unassignedTaskQuery&_pageSize=50&_pagedResultsOffset=0",
        (),
    ),
    (
        "UI enduser candidateUser p10",
        "taskinstance?_queryId=filtered-query&taskCandidateUser=user-7&_pageSize=10",
        ("page",),
    ),
    (
        "UI task history p10",
        "taskinstance/history?_queryFilter=true&_pageSize=10",
        ("page",),
    ),
    (
        "UI task history p10 EXACT",
        "taskinstance/history?_queryFilter=true&_pageSize=10&_totalPagedResultsPolicy=EXACT",
        ("page", "exact"),
    ),
    (
        "task history finished p10",
        "taskinstance/history?_queryId=filtered-query&finished=true&_pageSize=10",
        ("page",),
    ),
    (
        "task history finished p10 EXACT",
        "taskinstance/history?_queryId=filtered-query&finished=true&_pageSize=10"
        "&_totalPagedResultsPolicy=EXACT",
        ("page", "exact"),
    ),
    (
        "task history endTime pr p10",
        "taskinstance/history?_queryFilter=endTime pr&_pageSize=10",
        ("page",),
    ),
    (
        "task history unfinished p10 offset 200",
        "taskinstance/history?_queryId=filtered-query&unfinished=true&_pageSize=10"
        "&_pagedResultsOffset=200",
        ("page",),
    ),
    (
        "UI admin assignee p10 EXACT",
        "taskinstance?_queryId=filtered-query&assignee=openidm-admin&_pageSize=10"
        "&_totalPagedResultsPolicy=EXACT",
        ("page", "exact"),
    ),
    (
        "jobs true p10 EXACT",
        "job?_queryFilter=true&_pageSize=10&_totalPagedResultsPolicy=EXACT",
        ("page", "exact"),
    ),
    (
        "dead-letter jobs true p10 EXACT",
        "job/deadletter?_queryFilter=true&_pageSize=10&_totalPagedResultsPolicy=EXACT",
        ("page", "exact"),
    ),
]


# --- the bulk writer ---------------------------------------------------------------------------


def template_items(store: Any, instance_id: str) -> list[tuple[Any, Any]]:
    """``(table, item)`` of every runtime and history item of one instance."""
    from chalicelib.storage.ports import Table

    return [
        (table, item)
        for table in (Table.RUNTIME, Table.HISTORY)
        for item in store.query(table, instance_id).items
    ]


def _encoded(items: list[tuple[Any, Any]]) -> tuple[str, list[str], datetime]:
    """The template as JSON text, its ids (sorted: time order) and its start time."""
    rows = [
        {
            "table": table.value,
            "pk": item.pk,
            "sk": item.sk,
            "kind": item.kind,
            "data": item.data,
            "index": item.index,
            "ttl": item.ttl,
            "version": item.version,
        }
        for table, item in items
    ]
    text = json.dumps(rows, separators=(",", ":"))
    header = next(item for _, item in items if item.sk == "#header")
    definition = header.data["definition_id"]
    ids = sorted({m for m in re.findall(_ID, text) if m not in definition})
    started = datetime.strptime(header.data["start_time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return text, ids, started.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


#: a ``kindShard-sort`` value of a sharded listing (``instance#3``, ``instance-keys#5``), as
#: opposed to an unsharded partition of key items (``instance-keys:bk=bk-7``)
_SHARDED = re.compile(r"^[^#:]+#\d+$")


def clones(
    running: list[tuple[Any, Any]],
    finished: list[tuple[Any, Any]],
    count: int,
    *,
    first_start: datetime,
    offset: int = 0,
    assigned: list[tuple[Any, Any]] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """``(table, item)`` of ``count`` cloned instances (``offset`` numbers the first one):
    every tenth one finished, the rest running (with ``assigned``, the numbers ending in 5 are
    clones of it: a running instance whose task is assigned); instance ``i`` starts ``i``
    minutes after ``first_start``. New ids come from ``ids.new_id`` at the start time
    (time-ordered)."""
    from chalicelib.ids import new_id
    from chalicelib.service.repositories.history import TASK_STATE_PREFIX
    from chalicelib.service.repositories.layout import LIST_SHARDS
    from chalicelib.storage.ports import Item, Table
    from chalicelib.storage.sharding import shard_for, shard_key

    templates = [_encoded(running), _encoded(finished)]
    if assigned is not None:
        templates.append(_encoded(assigned))
    for number in range(offset, offset + count):
        which = {9: 1, 5: 2}.get(number % 10, 0)
        text, template_ids, started = templates[which if which < len(templates) else 0]
        start = first_start + timedelta(minutes=number)
        start_ms = int(start.timestamp() * 1000)
        shift = start - started
        mapping: dict[str, str] = {old: new_id(start_ms) for old in template_ids}
        mapping[BK] = f"bk-{number}"
        mapping[USER] = f"user-{number % 50}"
        mapping[GROUP] = "internal/role/openidm-admin" if number % 10 == 0 else f"g{number % 10}"
        mapping[str(N_MARK)] = str(number % 100)

        def substitute(match: re.Match, mapping: dict[str, str] = mapping) -> str:
            token = match.group(0)
            found = mapping.get(token)
            if found is not None:
                return found
            if token[:1].isdigit() and "T" in token and token.endswith("Z"):
                moment = datetime.strptime(token, "%Y-%m-%dT%H:%M:%S.%fZ")
                return _iso(moment.replace(tzinfo=UTC) + shift)
            return token  # an id that is not the instance's (the definition's deployment)

        for row in json.loads(_TOKENS.sub(substitute, text)):
            index = row["index"]
            if _SHARDED.match(index.get("kind_shard", "")):  # a sharded listing's shard
                listing = index["kind_shard"].split("#", 1)[0]
                entity = index["sort"].rsplit("#", 1)[1]  # the id: task, instance, execution
                index["kind_shard"] = shard_key(listing, shard_for(entity, LIST_SHARDS))
            if index.get("lookup", "").startswith("state="):  # history's sharded state partition
                state = index["lookup"].rpartition("#")[0]
                index["lookup"] = shard_key(state, shard_for(row["pk"], LIST_SHARDS))
            if index.get("lookup", "").startswith(TASK_STATE_PREFIX):  # by the task's id
                state = index["lookup"].rpartition("#")[0]
                task = index["sort"].rsplit("#", 1)[1]
                index["lookup"] = shard_key(state, shard_for(task, LIST_SHARDS))
            yield (
                Table(row["table"]),
                Item(
                    pk=row["pk"],
                    sk=row["sk"],
                    kind=row["kind"],
                    data=row["data"],
                    index=index,
                    ttl=row["ttl"],
                    version=row["version"],
                ),
            )


def bulk_write(
    store: Any,
    running: list[tuple[Any, Any]],
    finished: list[tuple[Any, Any]],
    count: int,
    *,
    first_start: datetime,
    offset: int = 0,
    batch: int = 2500,
    assigned: list[tuple[Any, Any]] | None = None,
) -> int:
    """Clone the templates ``count`` times through ``store.batch_put``; returns items written.
    The maintained counts of what the clones list are added too (``repositories.counters``)."""
    pending: dict[Any, list[Any]] = {}
    written = 0
    counted: Counter[tuple[Any, Any, str]] = Counter()
    cloned = clones(
        running, finished, count, first_start=first_start, offset=offset, assigned=assigned
    )
    for table, item in cloned:
        counted.update(_counted(table, item))
        rows = pending.setdefault(table, [])
        rows.append(item)
        if len(rows) >= batch:
            store.batch_put(table, rows)
            written += len(rows)
            rows.clear()
    for table, rows in pending.items():
        if rows:
            store.batch_put(table, rows)
            written += len(rows)
    from chalicelib.service.repositories import counters
    from chalicelib.storage.ports import COUNTER_KIND, Item

    # one counter item per partition and clone batch (a reader sums a counter's items), in bulk
    by_table: dict[Any, list[Any]] = {}
    for (table, index, base), n in counted.items():
        by_table.setdefault(table, []).append(
            Item(counters.counter_pk(index, base), f"bench-{offset}", COUNTER_KIND, {}, version=n)
        )
    for table, rows in by_table.items():
        store.batch_put(table, rows)
    return written


def _counted(table: Any, item: Any) -> list[tuple[Any, Any, str]]:
    """The counted partitions a cloned item is in (runtime listings and indexes, history
    lookup partitions), as the unit of work counts them."""
    from chalicelib.service.repositories import counters
    from chalicelib.service.repositories.history import TASK_LISTING, is_task
    from chalicelib.service.repositories.history_index import (
        HISTORY_LOOKUP_KIND,
        counted_partitions,
    )
    from chalicelib.storage.ports import Index, Table

    if table is Table.HISTORY:
        if is_task(item):  # the ``htask`` listing's count and its state's
            state = item.index.get("lookup", "").rpartition("#")[0]
            return [(table, Index.KIND_SHARD_SORT, TASK_LISTING)] + (
                [(table, Index.LOOKUP_SORT, state)] if state else []
            )
        if item.kind != HISTORY_LOOKUP_KIND:
            return []
        return [
            (table, Index.LOOKUP_SORT, base)
            for base in counted_partitions({item.sk: item.index["lookup"]})
        ]
    from chalicelib.service.repositories.jobs import JOB_KIND, JOB_LISTING

    if table is Table.RUNTIME and item.kind == JOB_KIND:  # the ``job`` listing's count
        return [(table, Index.KIND_SHARD_SORT, JOB_LISTING)]
    return [(table, index, base) for index, base in counters.membership(table, item)]


#: the ids of job number 7 (``{job7}``) and of its instance (``{job7i}``), and the definition
#: id (``{pdi}``) in ``QUERIES`` paths
JOB_IDS: dict[str, str] = {}


def bulk_jobs(store: Any, count: int, *, first_start: datetime, offset: int = 0) -> int:
    """One job per number (timers and async continuations alternately, due 60 days after their
    creation, so none runs), of an instance id of their own (the queries read jobs only); every
    twentieth one failed into the dead-letter table instead. Returns items written."""
    from chalicelib.ids import child_id, new_id
    from chalicelib.service.jobs.items import new_job
    from chalicelib.service.repositories.jobs import (
        DEAD_LETTER_LISTING,
        JOB_LISTING,
        dead_letter_item,
    )
    from chalicelib.storage.ports import Table

    jobs, dead = [], []
    for number in range(offset, offset + count):
        created = first_start + timedelta(minutes=number)
        instance = new_id(int(created.timestamp() * 1000))
        job = new_job(
            job_id=child_id(instance),
            handler_type="trigger-timer" if number % 2 == 0 else "async-continuation",
            created=created,
            due=created + timedelta(days=60),
            instance_id=instance,
            execution_id=instance,
            definition_id="benchScale:1:bench",
            timer=number % 2 == 0,
        )
        if number == 7:
            JOB_IDS.update(job7=job.data["_id"], job7i=instance)
        if number % 20 == 19:
            data = {**job.data, "retries": 0, "exceptionMessage": "bench failure"}
            dead.append(dead_letter_item(data))
        else:
            jobs.append(job)
    from chalicelib.service.repositories import counters
    from chalicelib.storage.ports import COUNTER_KIND, Index, Item

    for table, items, listing in (
        (Table.RUNTIME, jobs, JOB_LISTING),
        (Table.DEADLETTER, dead, DEAD_LETTER_LISTING),
    ):
        if items:
            store.batch_put(table, items)
            # their maintained count (``repositories.jobs.counted``): one counter item per
            # listing and batch (a reader sums a counter's items; a recount folds them in)
            pk = counters.counter_pk(Index.KIND_SHARD_SORT, listing)
            store.batch_put(
                table, [Item(pk, f"bench-jobs-{offset}", COUNTER_KIND, version=len(items))]
            )
    return len(jobs) + len(dead)


def templates(container: Any, definition_id: str) -> tuple[list, list]:
    """Start one instance (left at its user task) and one more that is completed, through the
    service; their items are the templates of ``bulk_write``."""
    from chalicelib.engine.runtime import CompleteTask
    from chalicelib.service import unit_of_work as instances

    running = _start_template(container, definition_id)
    done = _start_template(container, definition_id)
    task_id = next(iter(done.state.tasks))
    instances.run_command(
        container,
        lambda uow: (uow.load(done.instance_id), CompleteTask(task_id, {}, "openidm-admin"))[1],
    )
    return (
        template_items(container.store, running.instance_id),
        template_items(container.store, done.instance_id),
    )


def _start_template(container: Any, definition_id: str, note: str = "bench") -> Any:
    """Start an instance with the markers the clones replace; its command result."""
    from chalicelib.engine.runtime import StartProcess
    from chalicelib.service import unit_of_work as instances

    variables = {"n": N_MARK, "group": GROUP, "note": note}
    return instances.run_command(
        container, lambda uow: StartProcess(definition_id, dict(variables), BK, USER)
    )[1]


def assigned_template(container: Any, definition_id: str) -> list[tuple[Any, Any]]:
    """One more running instance whose task is assigned to ``openidm-admin`` (the template of
    one clone in ten: the assignee queries of the UIs find a page of them), with a ``note``
    over 4 KB (``BIG_NOTE``): its variables do not fit the header, which names them, so the
    instance pages read them by key."""
    from chalicelib.engine.runtime import UpdateTask
    from chalicelib.service import unit_of_work as instances

    started = _start_template(container, definition_id, BIG_NOTE)
    task_id = next(iter(started.state.tasks))
    instances.run_command(
        container,
        lambda uow: (
            uow.load(started.instance_id),
            UpdateTask(task_id, {"assignee": "openidm-admin"}, "openidm-admin"),
        )[1],
    )
    return template_items(container.store, started.instance_id)


# --- counting items read -----------------------------------------------------------------------


class ItemsRead:
    """Items read by DynamoDB responses while ``on`` (an ``after-call`` hook on the session)."""

    def __init__(self) -> None:
        self.on = False
        self.items = 0

    def __call__(self, parsed: Any = None, model: Any = None, **_: Any) -> None:
        if not self.on or not isinstance(parsed, dict):
            return
        if "Count" in parsed:
            self.items += int(parsed["Count"])
        elif "Item" in parsed:
            self.items += 1
        elif "Responses" in parsed:  # BatchGetItem, TransactGetItems
            responses = parsed["Responses"]
            if isinstance(responses, dict):
                self.items += sum(len(rows) for rows in responses.values())
            else:
                self.items += len(responses)


@contextmanager
def measuring(read: ItemsRead) -> Iterator[Any]:
    from chalicelib import aws

    read.items = 0
    read.on = True
    try:
        with aws.counting(current_thread_only=True) as counter:
            yield counter
    finally:
        read.on = False


def run_queries(client: Any, read: ItemsRead) -> dict[str, dict[str, Any]]:
    """Each query once through the HTTP handler: requests, items read, results, cookie, ms."""
    figures = {}
    for label, path, _ in QUERIES:
        url = "/openidm/workflow/" + quote(path.format(**JOB_IDS), safe="/?=&-_.:,")
        with measuring(read) as counter:
            began = time.perf_counter()
            response = client.http.get(url, headers=ADMIN)
            ms = (time.perf_counter() - began) * 1000
        try:
            body = json.loads(response.body or b"{}")
        except ValueError:
            body = {}
        results = body.get("result") if isinstance(body, dict) else None
        figures[label] = {
            "status": response.status_code,
            "requests": counter.total("dynamodb"),
            "operations": counter.counts.get("dynamodb", {}),
            "items": read.items,
            "results": len(results) if isinstance(results, list) else None,
            "cookie": bool(isinstance(body, dict) and body.get("pagedResultsCookie")),
            "total": body.get("totalPagedResults") if isinstance(body, dict) else None,
            "ms": ms,
        }
    return figures


# --- report ------------------------------------------------------------------------------------


def verdicts(
    goals: tuple[str, ...], runs: list[dict[str, Any]], twins: list[dict[str, Any]] | None = None
) -> list[str]:
    """The goals a query misses (empty: all met). ``twins``: the runs of the same query without
    ``EXACT``; the total's cost is the difference."""
    counts = [run["requests"] for run in runs]
    missed = []
    if max(counts) - min(counts) > SHARD_SLACK:
        missed.append("grows with N")
    if "exact" in goals:
        base = [twin["requests"] for twin in twins] if twins else [0] * len(runs)
        if max(count - extra for count, extra in zip(counts, base)) > EXACT_MAX:
            missed.append(f"EXACT total > {EXACT_MAX}")
    if "page" in goals and max(counts) > PAGE_MAX:
        missed.append(f"page > {PAGE_MAX}")
    if any(run["status"] != 200 for run in runs):
        missed.append("status " + "/".join(str(run["status"]) for run in runs))
    return missed


def _short(path: str, run: dict[str, Any]) -> bool:
    """Whether a query answered fewer results than it asked for, with a cookie: the read
    budget stopped it (without ``_pageSize``, any cookie means that)."""
    if not run["cookie"] or run["results"] is None:
        return False
    found = re.search(r"_pageSize=(\d+)", path)
    return found is None or run["results"] < int(found.group(1))


def report(sizes: list[int], runs: dict[int, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    first, last = sizes[0], sizes[-1]
    head = (
        "  ".join(f"req@{n:<6}" for n in sizes) + "  " + "  ".join(f"items@{n:<6}" for n in sizes)
    )
    print(f"  {'query':<32} {head}  ratio  results  cookie   ms@{last:<6}  verdict")
    summary = {}
    for label, path, goals in QUERIES:
        per_n = [runs[n][label] for n in sizes]
        twin = label.removesuffix(" EXACT")
        twins = [runs[n][twin] for n in sizes] if twin != label and twin in runs[first] else None
        missed = verdicts(goals, per_n, twins)
        ratio = per_n[-1]["requests"] / max(per_n[0]["requests"], 1)
        requests = "  ".join(f"{run['requests']:<10}" for run in per_n)
        items = "  ".join(f"{run['items']:<12}" for run in per_n)
        results = "/".join("-" if run["results"] is None else str(run["results"]) for run in per_n)
        cookie = "/".join("yes" if run["cookie"] else "no" for run in per_n)
        verdict = "PASS" if not missed else "OVER (" + ", ".join(missed) + ")"
        if any(_short(path, run) for run in per_n):
            verdict += "; short page + cookie (read budget spent)"
        print(
            f"  {label:<32} {requests}  {items}  {ratio:5.1f}  {results:<7}  {cookie:<7}  "
            f"{per_n[-1]['ms']:<9.0f}  {verdict}"
        )
        summary[label] = {"runs": per_n, "missed": missed}
    for label, path, _ in QUERIES:
        if "EXACT" in path:
            totals = ", ".join(f"N = {n}: {runs[n][label]['total']}" for n in sizes)
            print(f"  {label}: totalPagedResults {totals} (-1: not counted)")
    passed = sum(1 for entry in summary.values() if not entry["missed"])
    print(f"  {passed} of {len(summary)} queries meet the goals (N = {first} and {last})")
    return summary


def main() -> dict:
    os.environ.update(ENV)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(REPO))
    from chalice.test import Client

    import app as application
    from chalicelib import aws
    from chalicelib.service.definitions import deploy as deployments

    sizes = sorted(SIZES)
    read = ItemsRead()
    runs: dict[int, dict[str, dict[str, Any]]] = {}
    print(
        f"== Scale: DynamoDB requests and items read per query at N = "
        f"{', '.join(f'{n:,}' for n in sizes)} instances (BENCH_SCALE_N) =="
    )
    with moto_container(
        lambda: aws.session().register(
            "after-call.dynamodb", read, unique_id="bench-scale-items-read"
        )
    ) as container:
        definition_id = deployments.deploy(
            container,
            source="bench:scale",
            name="benchScale.bpmn20.xml",
            bpmn={"benchScale.bpmn20.xml": SCALE},
        ).definition_ids[0]
        JOB_IDS["pdi"] = definition_id  # the ``{pdi}`` of ``QUERIES`` paths
        running, finished = templates(container, definition_id)
        assigned = assigned_template(container, definition_id)
        first_start = datetime.now(UTC) - timedelta(days=30)
        stored = 0
        with Client(application.app, stage_name="local") as client:
            for size in sizes:
                began = time.perf_counter()
                items = bulk_write(
                    container.store,
                    running,
                    finished,
                    size - stored,
                    first_start=first_start,
                    offset=stored,
                    assigned=assigned,
                )
                items += bulk_jobs(
                    container.store, size - stored, first_start=first_start, offset=stored
                )
                stored = size
                print(
                    f"  N = {size:,}: {items:,} items written (jobs included) in "
                    f"{time.perf_counter() - began:.0f} s (plus the 3 templates)"
                )
                began = time.perf_counter()
                runs[size] = run_queries(client, read)
                print(f"  N = {size:,}: queries ran in {time.perf_counter() - began:.0f} s")
        summary = report(sizes, runs)
    return {"sizes": sizes, "runs": runs, "summary": summary}


if __name__ == "__main__":
    main()
