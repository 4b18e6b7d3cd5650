"""Process instances: start, read, delete; historic process instances: read, delete.

JSON shapes follow api-reference.md §8. A running instance is read from its runtime item
collection (one Query gives the header, the variables and the open tasks); a historic one from
the history table (``#process`` plus the ``var#`` items of the instance scope). The queries of
both collections live in ``queries``, their JSON shapes in ``shapes``.

Start (``POST processinstance``): exactly one of ``_key`` / ``_processDefinitionId``,
``_businessKey`` optional, every other field a variable, with IDM's date sniffing: a string of
24 to 29 characters that parses as an ISO-8601 date-time is stored as the normalised UTC text
``YYYY-MM-DDTHH:MM:SS.mmmZ`` (there is no separate date type). With an ``Idempotency-Key``
header the response is recorded in the same transaction as the new instance (``idempotency``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ...clock import format_iso, parse_iso
from ...engine.runtime.commands import Command
from ...engine.runtime.state import InstanceState
from ...errors import BadRequest, Conflict, NotFound
from ...storage.ports import MAX_TRANSACTION_WRITES, Delete, Item, Table, Write
from .. import idempotency
from ..container import Services
from ..definitions import cache as definitions
from ..definitions.queries import diagram
from ..repositories import history
from ..repositories.history_index import deletion_counts
from ..tasks.shapes import history_task_shape
from ..unit_of_work import UnitOfWork, load_instance, run_command
from .shapes import (
    DefinitionNames,
    history_item,
    history_variables,
    instance_item,
    visible,
)

if TYPE_CHECKING:  # the executor is imported by the first command, not at cold start
    from ...engine.runtime.session import CommandResult

__all__ = [
    "ROUTE_CREATE",
    "StartRequest",
    "start_request",
    "sniff_dates",
    "start",
    "read_instance",
    "delete_instance",
    "read_history",
    "delete_history",
    "instance_diagram",
]

log = logging.getLogger("workflow.instances")

#: the route an ``Idempotency-Key`` of a start is scoped to
ROUTE_CREATE = "POST processinstance"
_RESERVED = ("_key", "_processDefinitionId", "_businessKey")
#: IDM's sniffer only looks at strings of this length (``DateUtil.parseIfDate``)
_DATE_LENGTHS = range(24, 30)


# --- start -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartRequest:
    """A validated start: the definition, the business key, the variables, the raw body."""

    definition: definitions.DeployedDefinition
    business_key: str | None
    variables: Mapping[str, Any]
    body: Mapping[str, Any]


def _optional_string(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"The field '{name}' must be a non-empty string")
    return value


def sniff_dates(variables: Mapping[str, Any]) -> dict[str, Any]:
    """IDM's date sniffing: ISO-8601 date-time strings become normalised UTC date text."""
    result = {}
    for name, value in variables.items():
        if isinstance(value, str) and len(value) in _DATE_LENGTHS and "T" in value:
            try:
                value = format_iso(parse_iso(value))
            except ValueError:
                pass
        result[name] = value
    return result


def start_request(container: Services, body: Any) -> StartRequest:
    """Validate a start body and find its definition (400 for a bad body, 404 unknown)."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    key = _optional_string(body, "_key")
    definition_id = _optional_string(body, "_processDefinitionId")
    if (key is None) == (definition_id is None):
        raise BadRequest("Exactly one of '_key' and '_processDefinitionId' is required")
    business_key = _optional_string(body, "_businessKey")
    deployed = (
        definitions.latest_definition(container, key)
        if key is not None
        else definitions.get_definition(container, cast(str, definition_id))
    )
    variables = sniff_dates({k: v for k, v in body.items() if k not in _RESERVED})
    return StartRequest(deployed, business_key, variables, body)


def _created(result: CommandResult) -> idempotency.StoredResponse:
    header = result.state.header
    return idempotency.StoredResponse(
        201,
        {
            "_id": header.id,
            "processInstanceId": header.id,
            "status": "ended" if header.status.is_ended else "suspended",
            "businessKey": header.business_key,
            "processDefinitionId": header.definition_id,
        },
    )


def start(
    container: Services, caller_id: str, request: StartRequest, idempotency_key: str | None = None
) -> idempotency.StoredResponse:
    """Start an instance as ``caller_id`` (the initiator); the 201 response to send.

    With ``idempotency_key``: a retry replays the first response (``idempotency.begin``); the
    new instance and the recorded response commit in one transaction; a failure releases the
    key. A process failure raises ``ProcessFailure`` (400) and writes nothing.
    """
    from ...engine.runtime import StartProcess

    def build(uow: UnitOfWork) -> Command:
        return StartProcess(
            request.definition.id,
            variables=request.variables,
            business_key=request.business_key,
            initiator=caller_id,
        )

    if idempotency_key is None:
        _, result = run_command(container, build)
        return _created(result)
    claim = idempotency.begin(container, caller_id, ROUTE_CREATE, idempotency_key, request.body)
    if isinstance(claim, idempotency.StoredResponse):
        return claim
    ttl = idempotency.ttl_of(container)
    try:
        _, result = run_command(
            container,
            build,
            extra_writes=lambda result: [claim.done_write(_created(result), ttl=ttl)],
        )
    except BaseException:
        _release_quietly(container, claim)
        raise
    return _created(result)


def _release_quietly(container: Services, claim: idempotency.Claim) -> None:
    try:
        idempotency.release(container, claim)
    except Exception:  # the original error matters more; the claim goes stale in 15 minutes
        log.exception("could not release idempotency claim %s", claim.pk)


# --- read and cancel -------------------------------------------------------------------------


def _running(container: Services, instance_id: str) -> InstanceState:

    state = load_instance(container, instance_id)
    if state is None or state.header.status.is_ended:
        raise NotFound(f"Process instance {instance_id} not found")
    return state


def _read_shape(container: Services, state: InstanceState) -> dict[str, Any]:
    header = state.header.to_dict()
    variables = visible(
        (name, record.value) for name, record in state.variables.get(state.id, {}).items()
    )
    body = instance_item(header, DefinitionNames(container), variables)
    body["tasks"] = historic_tasks(container, state.id, variables)
    return body


def historic_tasks(
    container: Services, instance_id: str, variables: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Every task of the instance, finished and open, in the ``taskinstance/history`` shape
    (api-reference.md §3.3 read), oldest first, each with the instance's variables."""
    page = history.historic_tasks(container.store, instance_id)
    tasks = sorted(
        (item.data for item in page.items),
        key=lambda data: (data.get("createTime") or "", data.get("id") or ""),
    )
    shaped = []
    for data in tasks:
        item = history_task_shape(data)
        item["processVariables"] = dict(variables)
        shaped.append(item)
    return shaped


def read_instance(
    container: Services, instance_id: str, *, diagram: bool = False
) -> dict[str, Any]:
    """An instance with all its tasks (``tasks``, historic shape). A running instance is read
    from the runtime (one Query) plus its historic tasks (one Query); an ended one, as IDM
    does, from its history (GetItem + Query + Query). 404 when neither knows it.

    ``diagram``: add the ``diagram`` field (``instance_diagram``) when there is one."""

    state = load_instance(container, instance_id)
    if state is not None and not state.header.status.is_ended:
        body = _read_shape(container, state)
        if diagram:
            _add_diagram(
                body,
                instance_diagram(
                    container, body["processDefinitionId"], state.active_activity_ids()
                ),
            )
        return body
    body = read_history(container, instance_id, diagram=diagram)
    body["tasks"] = historic_tasks(container, instance_id, body["processVariables"])
    return body


def instance_diagram(container: Services, definition_id: str, active: Iterable[str]) -> str | None:
    """The ``diagram`` of an instance: its definition's BPMN diagram interchange rendered as a
    base64 PNG with the ``active`` activities highlighted (none: a finished instance). None
    when the definition has no diagram interchange or is no longer deployed."""
    try:
        definition = definitions.get_definition(container, definition_id or "")
    except NotFound:
        return None
    return diagram(container, definition, list(active))


def _add_diagram(body: dict[str, Any], diagram: str | None) -> None:
    if diagram is not None:
        body["diagram"] = diagram


def delete_instance(
    container: Services, caller_id: str, instance_id: str, reason: str | None = None
) -> dict[str, Any]:
    """Cancel a running instance; the instance as it was. History keeps the delete reason."""
    from ...engine.runtime import DeleteInstance

    before: dict[str, Any] = {}

    def build(uow: UnitOfWork) -> Command:
        state = uow.load(instance_id)
        if state.header.status.is_ended:
            raise NotFound(f"Process instance {instance_id} not found")
        before.clear()
        before.update(_read_shape(container, state))
        return DeleteInstance(instance_id, reason or f"Deleted by {caller_id}")

    run_command(container, build)
    return before


# --- history ---------------------------------------------------------------------------------


def _history_record(container: Services, instance_id: str) -> Item:
    item = history.read_process(container.store, instance_id)
    if item is None:
        raise NotFound(f"Historic process instance {instance_id} not found")
    return item


def read_history(container: Services, instance_id: str, *, diagram: bool = False) -> dict[str, Any]:
    """A historic process instance with its kept variables (GetItem + Query); 404 unknown.

    ``diagram``: add the ``diagram`` field, with the active activities highlighted while the
    instance runs (one more Query) and none once it has ended (api-reference.md §3.3)."""

    record = _history_record(container, instance_id).data
    body = history_item(
        record, DefinitionNames(container), history_variables(container, instance_id)
    )
    if diagram:
        active: list[str] = []
        if record.get("endTime") is None:
            state = load_instance(container, instance_id)
            if state is not None and not state.header.status.is_ended:
                active = state.active_activity_ids()
        _add_diagram(body, instance_diagram(container, body["processDefinitionId"], active))
    return body


def delete_history(container: Services, instance_id: str) -> dict[str, Any]:
    """Delete every history item of an ended instance; the record as it was.

    404 unknown; 409 while the instance runs (Flowable: "still running, cannot delete").
    """
    record = _history_record(container, instance_id).data
    if record.get("endTime") is None:
        raise Conflict(
            f"Process instance {instance_id} is still running, cannot delete its history"
        )
    body = history_item(
        record, DefinitionNames(container), history_variables(container, instance_id)
    )
    token = None
    while True:
        page = container.store.query(
            Table.HISTORY, instance_id, limit=MAX_TRANSACTION_WRITES, start=token
        )
        by_sk = {item.sk: item for item in page.items}
        # each batch with the counts of the lookup items and historic tasks it deletes (at
        # most 7 counters)
        for batch in _batches([Delete.of(Table.HISTORY, item) for item in page.items], room=7):
            deleted = [by_sk[write.sk] for write in batch if isinstance(write, Delete)]
            container.store.transact([*batch, *deletion_counts(deleted)])
        token = page.next_token
        if token is None:
            return body


def _batches(writes: list[Write], *, room: int = 0) -> list[list[Write]]:
    """Transactions of at most 100 writes, chunk items included (``room``: that many fewer)."""
    batches: list[list[Write]] = [[]]
    used = 0
    for write in writes:
        cost = 1 + getattr(write, "chunks", 0)
        if used + cost > MAX_TRANSACTION_WRITES - room and batches[-1]:
            batches.append([])
            used = 0
        batches[-1].append(write)
        used += cost
    return [batch for batch in batches if batch]
