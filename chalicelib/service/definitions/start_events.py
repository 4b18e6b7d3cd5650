"""Definition-level start events: message and signal starts, and timer-start jobs.

Only the LATEST version of each process key has live start events (``bpmn-semantics.md``
§1.6): deploying a new version replaces the previous version's, deleting the latest version
restores the previous remaining version's. The runner of timer-start jobs is
``events.timer_start``. The registry's items are in the repository table (their layout is in
``repositories.definitions``): one collection per process key, one claim per message name.

* ``find_start_events(container, type, name)`` is one ``kind-sort`` index Query.
* A message name belongs to one key at a time (Flowable): the claim item is written with
  ``MustNotExist`` when a key first uses the name, so two concurrent deploys of different keys
  cannot both take it. Deploying another key with a claimed name is a 400.
* A timer item points at the one outstanding ``timer-start`` job of its start event (runtime
  table, ``pk`` = the job id). The runner replaces the pointer (version-conditioned) in the
  same transaction as the instance it starts, the next job of a cycle and the deletion of the
  job it ran; replacing the registry deletes the job it points to under the same condition.

``on_deploy`` / ``on_undeploy`` return the writes to add to the deployment's own transaction
(``StartEventChanges``) and, after that commit, ``publish`` wakes the workers for new jobs.
Restoring after a delete reads the key's versions through the (eventually consistent) index.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from ... import ids
from ...clock import parse_iso
from ...storage.ports import (
    Delete,
    Index,
    Item,
    MustExist,
    MustNotExist,
    Put,
    Table,
    VersionIs,
    Write,
)
from ..container import Services
from ..jobs.items import new_job
from ..jobs.wakeup import publish
from ..repositories import definitions as repo
from ..repositories.jobs import delete_write, read_job
from .cache import get_definition
from .errors import InvalidDeployment

if TYPE_CHECKING:
    from ...engine import ProcessDefinitionModel
    from ...engine.elements import TimerDefinition

__all__ = [
    "TIMER_START",
    "StartEventChanges",
    "find_start_events",
    "on_deploy",
    "on_undeploy",
    "timer_job",
    "timer_pointer",
]

log = logging.getLogger("workflow.service.start_events")

#: the job handler type of a timer start event's job
TIMER_START = "timer-start"


@dataclass
class StartEventChanges:
    """Writes for the deployment's transaction, and the timer jobs to publish after it."""

    writes: list[Write] = field(default_factory=list)
    new_jobs: list[Item] = field(default_factory=list)

    def add(self, other: StartEventChanges) -> None:
        self.writes.extend(other.writes)
        self.new_jobs.extend(other.new_jobs)

    def publish(self, container: Services) -> None:
        """After the commit: wake the workers for the new timer jobs."""
        publish(container, self.new_jobs)


# --- reading ---------------------------------------------------------------------------------


def find_start_events(container: Services, type: str, name: str) -> list[tuple[str, str]]:
    """``[(definitionId, activityId)]`` of the latest definitions that start on the message
    or signal ``name`` (``type`` is ``"message"`` or ``"signal"``): one index Query."""
    if type not in ("message", "signal"):
        raise ValueError(f"start event type must be 'message' or 'signal', not {type!r}")
    found: list[tuple[str, str]] = []
    token = None
    while True:
        page = repo.start_events_page(container.store, type, name, limit=500, start=token)
        found.extend(
            (item.data["definitionId"], item.data["activityId"])
            for item in page.items
            if item.data.get("eventName") == name
        )
        token = page.next_token
        if token is None:
            return found


# --- deploy and delete -----------------------------------------------------------------------


def on_deploy(
    container: Services, latest: Iterable[tuple[ProcessDefinitionModel, str]]
) -> StartEventChanges:
    """The registry changes of a deployment: ``latest`` are its (process, definition id)
    pairs, each the new latest version of its key. Raises ``InvalidDeployment`` (400) for a
    timer start with an expression or a bad value, and for a message start name that another
    key's latest version (or another process of this deployment) already uses."""
    latest = list(latest)
    now = container.clock.now()
    problems = [
        problem
        for model, definition_id in latest
        for problem in _timer_problems(model, definition_id, now)
    ]
    owners: dict[str, str] = {}
    for model, definition_id in latest:
        for sub in _subscriptions(model, "message"):
            other = owners.setdefault(sub["event_name"], definition_id)
            if other != definition_id:
                problems.append(_message_problem(model, definition_id, sub, other))
    if problems:
        first = problems[0]["defaultDescription"]
        raise InvalidDeployment(
            f"The BPMN cannot be deployed: {first}", {"errors": problems, "warnings": []}
        )
    changes = StartEventChanges()
    for model, definition_id in latest:
        changes.add(_replace(container, model.key, (model, definition_id), strict=True))
    return changes


def on_undeploy(container: Services, definition_ids: Iterable[str]) -> StartEventChanges:
    """The registry changes of deleting these definitions (one deployment): for each key
    whose latest version is deleted, the previous remaining version's start events return
    (timers recomputed from now). A restored message start whose name another key took in the
    meantime is left out (logged)."""
    deleted = set(definition_ids)
    changes = StartEventChanges()
    for key in sorted({parts[0] for parts in map(repo.split_definition_id, deleted) if parts}):
        newest = _newest_versions(container, key)  # a deployment holds one version of a key
        if not newest or newest[0] not in deleted:
            continue  # an older version: the registry holds the latest one, which stays
        previous = newest[1] if len(newest) > 1 else None
        target = None
        if previous is not None:
            target = (get_definition(container, previous).process, previous)
        changes.add(_replace(container, key, target, strict=False))
    return changes


def _newest_versions(container: Services, key: str) -> list[str]:
    """The ids of the two highest versions of ``key``, newest first (the ``kind-sort``
    index; the deployment being deleted is still in it)."""
    page = container.store.query_index(
        Table.REPOSITORY,
        Index.KIND_SORT,
        repo.PROCESS_DEFINITION,
        key_range=repo.key_range_of_key(key),
        limit=2,
        descending=True,
    )
    return [item.data["_id"] for item in page.items]


def _replace(
    container: Services,
    key: str,
    target: tuple[ProcessDefinitionModel, str] | None,
    *,
    strict: bool,
) -> StartEventChanges:
    """Writes that make ``target`` (or nothing) the registered start events of ``key``.

    Items kept under the same sort key are replaced conditioned on the version read; the
    others are deleted (a timer item with its job) or created; message claims follow the
    names. ``strict``: a message name another key holds is a 400, else it is left out.
    """
    current = repo.read_start_events(container.store, key)
    changes = StartEventChanges()
    wanted: dict[str, Item] = {}
    if target is not None:
        wanted, changes.new_jobs = _registrations(container, key, *target, strict=strict)
    old_names = _message_names(current.values())
    for sk, item in list(wanted.items()):
        if repo.is_message_start(item) and item.data["eventName"] not in old_names:
            if not _claim(container, key, item, strict, changes):
                del wanted[sk]
    new_names = _message_names(wanted.values())
    definition_id = target[1] if target is not None else None
    for name in sorted(new_names & old_names):  # the claim stays ours; it names the new id
        changes.writes.append(
            Put(Table.REPOSITORY, repo.message_claim_item(name, key, definition_id), MustExist())
        )
    for name in sorted(old_names - new_names):
        changes.writes.append(repo.message_claim_delete(name))
    for sk, item in current.items():
        condition = VersionIs(item.version or 1)
        if repo.is_timer_start(item) and item.data.get("jobId"):
            # conditioned on the job as read (its count; a job deleted meanwhile: skipped,
            # or the race is lost on its version)
            job = read_job(container.store, item.data["jobId"])
            if job is not None:
                changes.writes.append(delete_write(job))
        if sk in wanted:
            wanted[sk].version = (item.version or 1) + 1
            changes.writes.append(Put(Table.REPOSITORY, wanted[sk], condition))
        else:
            changes.writes.append(Delete.of(Table.REPOSITORY, item, condition))
    changes.writes.extend(
        Put(Table.REPOSITORY, item, MustNotExist())
        for sk, item in wanted.items()
        if sk not in current
    )
    changes.writes.extend(Put(Table.RUNTIME, job, MustNotExist()) for job in changes.new_jobs)
    return changes


def _message_names(items: Iterable[Item]) -> set[str]:
    return {item.data["eventName"] for item in items if repo.is_message_start(item)}


def _claim(
    container: Services, key: str, item: Item, strict: bool, changes: StartEventChanges
) -> bool:
    """Claim a message name for ``key`` (adding the write); False when another key holds it
    and ``strict`` is off (on: ``InvalidDeployment`` naming the message and the holder)."""
    name = item.data["eventName"]
    claim = repo.read_message_claim(container.store, name)
    if claim is not None and claim.data.get("key") != key:
        other = claim.data.get("definitionId")
        message = (
            f"process '{key}': message start event '{item.data['activityId']}' waits "
            f"for message '{name}', which already starts process definition '{other}'"
        )
        if strict:
            raise InvalidDeployment(
                f"The BPMN cannot be deployed: {message}",
                {
                    "errors": [
                        _problem(
                            "duplicate-message-start-name",
                            message,
                            item.data["activityId"],
                            item.data["definitionId"],
                        )
                    ],
                    "warnings": [],
                },
            )
        log.warning("start event not restored: %s", message)
        return False
    changes.writes.append(
        Put(
            Table.REPOSITORY,
            repo.message_claim_item(name, key, item.data["definitionId"]),
            MustExist() if claim is not None else MustNotExist(),
        )
    )
    return True


# --- what a definition registers ---------------------------------------------------------------


def _subscriptions(model: ProcessDefinitionModel, type: str) -> list[dict[str, Any]]:
    from ...engine.runtime import start_event_subscriptions

    return [sub for sub in start_event_subscriptions(model) if sub["type"] == type]


def _timer_definition(model: ProcessDefinitionModel, activity_id: str) -> TimerDefinition:
    """The timer of a timer start event (``_subscriptions(model, "timer")`` names them)."""
    return cast("TimerDefinition", model.elements[activity_id].event_definitions[0])


def _registrations(
    container: Services,
    key: str,
    model: ProcessDefinitionModel,
    definition_id: str,
    *,
    strict: bool,
) -> tuple[dict[str, Item], list[Item]]:
    """The registry items (by sort key) and timer jobs of one definition."""
    from ...engine.runtime import start_event_subscriptions
    from ...engine.runtime.timers_rt import first_configuration

    now = container.clock.now()
    items: dict[str, Item] = {}
    new_jobs: list[Item] = []
    for sub in start_event_subscriptions(model):
        activity_id, type_ = sub["activity_id"], sub["type"]
        if type_ != "timer":
            item = repo.event_start_item(
                key, type_, activity_id, definition_id, sub["event_name"] or ""
            )
            items[item.sk] = item
            continue
        try:
            config = first_configuration(_timer_definition(model, activity_id), now)
        except ValueError as exc:
            if strict:
                raise
            log.warning("timer start %s of %s not restored: %s", activity_id, definition_id, exc)
            continue
        if config is None:  # a cycle already over: nothing will ever fire
            continue
        job = timer_job(model, definition_id, activity_id, config, now)
        new_jobs.append(job)
        item = repo.timer_start_item(key, activity_id, definition_id, job.data["_id"])
        items[item.sk] = item
    return items, new_jobs


def timer_job(
    model: ProcessDefinitionModel,
    definition_id: str,
    activity_id: str,
    config: dict[str, Any],
    now: datetime,
) -> Item:
    return new_job(
        job_id=ids.new_id(),
        handler_type=TIMER_START,
        created=now,
        due=parse_iso(config["due"]),
        definition_id=definition_id,
        element_id=activity_id,
        element_name=getattr(model.elements[activity_id], "name", None),
        timer=True,
        configuration={"definitionId": definition_id, "activityId": activity_id, "timer": config},
        retry_cycle=getattr(model.elements[activity_id], "failed_job_retry_time_cycle", None),
    )


def _problem(
    problem: str,
    text: str,
    activity_id: str,
    definition_id: str,
    line: int | None = None,
    column: int | None = None,
) -> dict[str, Any]:
    return {
        "problem": problem,
        "defaultDescription": text,
        "activityId": activity_id,
        "processDefinitionId": definition_id,
        "xmlLineNumber": line,
        "xmlColumnNumber": column,
        "isWarning": False,
    }


def _timer_problems(model: ProcessDefinitionModel, definition_id: str, now: datetime) -> list[dict]:
    """Timer start events the engine cannot schedule at deploy: expressions (no execution to
    evaluate them in) and values that do not parse."""
    from ...engine.runtime.timers_rt import first_configuration

    problems = []
    for sub in _subscriptions(model, "timer"):
        activity_id = sub["activity_id"]
        definition = _timer_definition(model, activity_id)
        texts = [
            definition.time_date,
            definition.time_duration,
            definition.time_cycle,
            definition.end_date,
        ]
        where = f"timer start event '{activity_id}' of process '{model.key}'"
        if any(text and ("${" in text or "#{" in text) for text in texts):
            problems.append(
                _problem(
                    "timer-start-expression",
                    f"{where}: expressions in the timer value of a "
                    "start event are not supported (there is no execution to evaluate them in)",
                    activity_id,
                    definition_id,
                    definition.line,
                    definition.column,
                )
            )
            continue
        try:
            first_configuration(definition, now)
        except ValueError as exc:
            problems.append(
                _problem(
                    "invalid-timer-start",
                    f"{where}: {exc}",
                    activity_id,
                    definition_id,
                    definition.line,
                    definition.column,
                )
            )
    return problems


def _message_problem(
    model: ProcessDefinitionModel, definition_id: str, sub: dict[str, Any], other: str
) -> dict[str, Any]:
    return _problem(
        "duplicate-message-start-name",
        f"process '{model.key}': message start event '{sub['activity_id']}' waits "
        f"for message '{sub['event_name']}', which also starts process definition "
        f"'{other}' of this deployment",
        sub["activity_id"],
        definition_id,
    )


def timer_pointer(container: Services, definition_id: str, activity_id: str) -> Item | None:
    """The registry's timer item of a timer start event (it names the outstanding job)."""
    parts = repo.split_definition_id(definition_id)
    if parts is None:
        return None
    return repo.read_timer_start(container.store, parts[0], activity_id)
