"""A signal broadcast as a job: its fan-out, and the broadcast a process throws (DESIGN.md §4).

``signal-broadcast`` (``broadcast_step``): the job covers a range of the ``event-sort`` index
(``signal#<name>``, subscriptions created up to the broadcast's creation time; a child job
covers the sort keys ``(after, upTo]``). One step reads one chunk of its range and writes, in
ONE transaction conditioned on the job's version: one ``deliver-signal`` job per subscription
met, its own deletion and, when more of the range remains, ``FAN_OUT`` child broadcasts that
split the rest by creation time, so a large broadcast fans out in parallel on as many workers
as the queue gives it (the first chunk also writes one job per signal start event). A crash
between chunks loses nothing (the children are stored with the chunk) and a stale worker's
chunk fails its version condition (nothing duplicated). A run (``run_broadcast``, the job's
runner) continues one child itself, wakes the others, and stops after ``STEPS_PER_RUN``.

``thrown_signal_jobs``: the engine's ``SignalThrown`` effect (a global throw inside a process,
already delivered within that instance) becomes a ``signal-broadcast`` job that skips the
throwing instance, written in the commit of the command that threw it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ... import ids
from ...clock import format_iso, parse_iso
from ...engine.runtime import SignalThrown
from ...errors import ConcurrencyError
from ...storage.ports import Item, MustNotExist, Put, Table, Write
from ..container import Services
from ..jobs.items import new_job
from ..jobs.wakeup import publish
from ..repositories.instances import subscription_sort
from ..repositories.jobs import counted, job_done_write
from .targets import Target, find_start_events, subscribers

if TYPE_CHECKING:  # the executor is imported by the first command, not at cold start
    from ...engine.runtime.session import CommandResult

log = logging.getLogger("workflow.execution_jobs")

__all__ = [
    "HANDLER",
    "CHUNK",
    "STEPS_PER_RUN",
    "FAN_OUT",
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

#: a chunk that is not the last splits the rest of its range into this many broadcasts
FAN_OUT = 4

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
    bound: str | None = None,
    after: str | None = None,
) -> Item:
    """A new ``signal-broadcast`` job (an item of its own: no instance owns it). ``bound``:
    the broadcast reaches subscriptions created up to this ISO time (default now); ``after``:
    only those sorting after this ``event-sort`` key, the signal start events being done
    already (the rest of a synchronous broadcast, ``actions.broadcast_now``)."""
    now = container.clock.now()
    configuration: dict[str, Any] = {
        "signalName": name,
        "variables": dict(variables),
        "initiator": initiator,
        "excludeInstance": exclude_instance,
        "bound": bound or format_iso(now),
        "cursor": None,
        "startsQueued": False,
    }
    if after is not None:
        high = f"{configuration['bound']}#\uffff"
        configuration.update(after=after, upTo=high, startsQueued=True)
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


def _split(after: str, high: str, parts: int) -> list[tuple[str, str]]:
    """``(after, up_to]`` sort-key ranges covering ``(after, high]``: ``parts`` equal slices of
    the creation times between them (fewer when they are less than a millisecond apart)."""
    try:
        start = parse_iso(after.split("#", 1)[0])
        end = parse_iso(high.split("#", 1)[0])
    except ValueError:
        return [(after, high)]
    if end <= start or parts <= 1:
        return [(after, high)]
    step = (end - start) / parts
    cuts = sorted(
        {
            c
            for i in range(1, parts)
            if after < (c := f"{format_iso(start + step * i)}#\uffff") < high
        }
    )
    bounds = [after, *cuts, high]
    return list(zip(bounds, bounds[1:]))


def _child(container: Services, job: Item, after: str, up_to: str) -> Item:
    """A broadcast job for the subscriptions of ``(after, up_to]`` (start events queued)."""
    configuration = job.data["jobHandlerConfiguration"]
    return new_job(
        job_id=ids.new_id(),
        handler_type=HANDLER,
        created=container.clock.now(),
        element_id=job.data.get("elementId"),
        configuration=dict(configuration, after=after, upTo=up_to, startsQueued=True, cursor=None),
        exclusive=False,
    )


def broadcast_step(container: Services, job: Item) -> list[Item]:
    """Fan out one chunk of the broadcast ``job`` (as read: its version conditions the
    transaction). Returns the broadcasts that continue it (none when it is done): the rest of
    its range in ``FAN_OUT`` slices, each a job of its own, so they fan out in parallel."""
    configuration = job.data["jobHandlerConfiguration"]
    name = configuration["signalName"]
    new_jobs: list[Item] = []
    if not configuration.get("startsQueued"):
        new_jobs = [
            _start_job(container, job, definition_id, activity_id)
            for definition_id, activity_id in find_start_events(container, "signal", name)
        ]
    after = configuration.get("after")
    high = configuration.get("upTo") or f"{configuration['bound']}#\uffff"
    page = subscribers(
        container,
        "signal",
        name,
        limit=max(1, CHUNK - len(new_jobs)) + (1 if after else 0),
        start=configuration.get("cursor"),
        low=after,
        high=high,
    )
    seen: set[str] = set()
    last = after
    for item in page.items:
        subscription = item.data
        sort = subscription_sort(subscription)
        if sort == after:  # the range's lower end is exclusive (the index's is not)
            continue
        last = sort
        if (
            subscription.get("instance_id") == configuration.get("excludeInstance")
            or subscription["id"] in seen
        ):
            continue
        seen.add(subscription["id"])
        new_jobs.append(_delivery_job(container, job, subscription))
    children: list[Item] = []
    if page.next_token is not None:
        if last is None:  # only the excluded lower end was read: the same range again
            children = [_child(container, job, after or "", high)]
        else:
            children = [
                _child(container, job, lower, upper) for lower, upper in _split(last, high, FAN_OUT)
            ]
    writes: list[Write] = [Put(Table.RUNTIME, item, MustNotExist()) for item in new_jobs]
    writes.extend(Put(Table.RUNTIME, item, MustNotExist()) for item in children)
    writes.append(job_done_write(job))
    container.store.transact(counted(writes))
    publish(container, new_jobs)
    return children


def run_broadcast(container: Services, job: Item) -> str:
    """The ``signal-broadcast`` runner: one chunk, then the first continuation in this run and
    the others woken for other workers, until done or ``STEPS_PER_RUN`` chunks."""
    pending = [job]
    steps = 0
    while pending:
        current = pending.pop(0)
        if steps >= STEPS_PER_RUN:
            publish(container, [current, *pending])
            return f"{steps} chunks fanned out; continues in the next run"
        try:
            children = broadcast_step(container, current)
        except ConcurrencyError:  # another worker moved it on; its own wake-up continues it
            if steps == 0:
                return "lost the race to another worker"
            continue
        except Exception:  # the job is still there: the next wake-up (or the sweep) resumes
            if steps == 0:
                raise
            log.warning(
                "broadcast %s stopped after %d chunks", job.data["_id"], steps, exc_info=True
            )
            publish(container, [current, *pending])
            return f"{steps} chunks fanned out; continues later"
        steps += 1
        if children:
            publish(container, children[1:])  # fanned out in parallel by other workers
            pending.append(children[0])
    return "executed" if steps == 1 else f"executed ({steps} chunks)"
