"""A signal broadcast as a job: its fan-out, and the broadcast a process throws (DESIGN.md §4).

``signal-broadcast`` (``broadcast_step``): the job reads the ``event-sort`` index
(``signal#<name>``, subscriptions created up to the broadcast's creation time) one chunk at a
time, and per chunk writes, in ONE transaction conditioned on its own version, one
``deliver-signal`` job per subscription met plus its own new cursor (the index token); the
first chunk also writes one job per signal start event; the last chunk deletes the broadcast
job instead. A crash between chunks resumes at the stored cursor (nothing lost); a stale
worker's chunk fails its version condition (nothing duplicated). A run (``run_broadcast``, the
job's runner) does at most ``STEPS_PER_RUN`` chunks, then wakes itself up again.

``thrown_signal_jobs``: the engine's ``SignalThrown`` effect (a global throw inside a process,
already delivered within that instance) becomes a ``signal-broadcast`` job that skips the
throwing instance, written in the commit of the command that threw it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ... import ids
from ...clock import format_iso
from ...engine.runtime import SignalThrown
from ...errors import ConcurrencyError
from ...storage.ports import Item, MustNotExist, Put, Table, VersionIs, Write
from ..container import Services
from ..jobs.items import new_job
from ..jobs.wakeup import publish
from ..repositories.jobs import job_done_write
from .targets import Target, find_start_events, subscribers

if TYPE_CHECKING:  # the executor is imported by the first command, not at cold start
    from ...engine.runtime.session import CommandResult

log = logging.getLogger("workflow.execution_jobs")

__all__ = [
    "HANDLER",
    "CHUNK",
    "STEPS_PER_RUN",
    "broadcast_job",
    "broadcast_step",
    "thrown_signal_jobs",
    "run_broadcast",
]

#: subscriptions (and start events) per fan-out transaction; each becomes a job item, and the
#: cursor update is one more write: well under DynamoDB's 100 writes per transaction
CHUNK = 50

#: fan-out chunks one run does before it hands over to a fresh wake-up (Lambda time limit)
STEPS_PER_RUN = 20

#: the job handler type of a broadcast
HANDLER = "signal-broadcast"


def broadcast_job(
    container: Services,
    name: str,
    variables: Mapping[str, Any],
    *,
    initiator: str | None = None,
    exclude_instance: str | None = None,
    source: Target | None = None,
) -> Item:
    """A new ``signal-broadcast`` job (an item of its own: no instance owns it)."""
    now = container.clock.now()
    configuration = {
        "signalName": name,
        "variables": dict(variables),
        "initiator": initiator,
        "excludeInstance": exclude_instance,
        "bound": format_iso(now),
        "cursor": None,
        "startsQueued": False,
    }
    return new_job(
        job_id=ids.new_id(),
        handler_type=HANDLER,
        created=now,
        element_id=source.activity_id if source else None,
        configuration=configuration,
        exclusive=False,
    )


def thrown_signal_jobs(
    container: Services, result: CommandResult
) -> tuple[list[Write], list[Item]]:
    """``(writes, job items)``: one broadcast job per ``SignalThrown`` effect of ``result``."""
    items = [
        broadcast_job(
            container,
            effect.signal_name,
            effect.variables,
            exclude_instance=effect.instance_id,
            source=Target(effect.instance_id, activity_id=effect.activity_id),
        )
        for effect in result.effects
        if isinstance(effect, SignalThrown)
    ]
    return [Put(Table.RUNTIME, item, MustNotExist()) for item in items], items


def _delivery_job(container: Services, broadcast: Item, subscription: Mapping[str, Any]) -> Item:
    configuration = broadcast.data["jobHandlerConfiguration"]
    instance_id = subscription["instance_id"]
    return new_job(
        job_id=ids.child_id(instance_id),
        handler_type="deliver-signal",
        created=container.clock.now(),
        instance_id=instance_id,
        execution_id=subscription["execution_id"],
        element_id=subscription.get("activity_id"),
        configuration={
            "signalName": configuration["signalName"],
            "executionId": subscription["execution_id"],
            "subscriptionId": subscription["id"],
            "variables": configuration["variables"],
            "broadcastId": broadcast.data["_id"],
        },
    )


def _start_job(container: Services, broadcast: Item, definition_id: str, activity_id: str) -> Item:
    configuration = broadcast.data["jobHandlerConfiguration"]
    target = Target(definition_id=definition_id, activity_id=activity_id)
    return new_job(
        job_id=ids.new_id(),
        handler_type="deliver-signal",
        created=container.clock.now(),
        definition_id=definition_id,
        element_id=activity_id,
        configuration={
            "signalName": configuration["signalName"],
            "target": target.to_json(),
            "variables": configuration["variables"],
            "initiator": configuration.get("initiator"),
            "broadcastId": broadcast.data["_id"],
        },
    )


def broadcast_step(container: Services, job: Item) -> Item | None:
    """Fan out one chunk of the broadcast ``job`` (as read: its version conditions the
    transaction). Returns the job with its new cursor, or None when it is done (deleted)."""
    configuration = job.data["jobHandlerConfiguration"]
    name = configuration["signalName"]
    new_jobs: list[Item] = []
    if not configuration.get("startsQueued"):
        new_jobs = [
            _start_job(container, job, definition_id, activity_id)
            for definition_id, activity_id in find_start_events(container, "signal", name)
        ]
    cursor = configuration.get("cursor")
    page = subscribers(
        container,
        "signal",
        name,
        bound=configuration["bound"],
        limit=max(1, CHUNK - len(new_jobs)),
        start=cursor,
    )
    seen: set[str] = set()
    for item in page.items:
        subscription = item.data
        if (
            subscription.get("instance_id") == configuration.get("excludeInstance")
            or subscription["id"] in seen
        ):
            continue
        seen.add(subscription["id"])
        new_jobs.append(_delivery_job(container, job, subscription))
    writes: list[Write] = [Put(Table.RUNTIME, item, MustNotExist()) for item in new_jobs]
    updated: Item | None = None
    if page.next_token is None:
        writes.append(job_done_write(job))
    else:
        data = dict(
            job.data,
            jobHandlerConfiguration=dict(configuration, cursor=page.next_token, startsQueued=True),
        )
        updated = job.next_version(data)
        writes.append(
            Put(
                Table.RUNTIME,
                updated,
                VersionIs(job.version or 1),
                replaces_chunks=job.stored_chunks,
            )
        )
    container.store.transact(writes)
    publish(container, new_jobs)
    return updated


def run_broadcast(container: Services, job: Item) -> str:
    """The ``signal-broadcast`` runner: chunks until done or ``STEPS_PER_RUN``."""
    try:
        current = broadcast_step(container, job)
    except ConcurrencyError:  # another worker moved it on; its own wake-up continues it
        return "lost the race to another worker"
    steps = 1
    while current is not None:
        if steps >= STEPS_PER_RUN:
            publish(container, [current])
            return f"{steps} chunks fanned out; continues in the next run"
        stepped = current
        try:
            current = broadcast_step(container, stepped)
        except Exception:  # the cursor is stored: the next wake-up (or the sweep) resumes
            log.warning(
                "broadcast %s stopped after %d chunks", job.data["_id"], steps, exc_info=True
            )
            publish(container, [stepped])
            return f"{steps} chunks fanned out; continues later"
        steps += 1
    return "executed"
