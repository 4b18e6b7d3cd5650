"""Process instance migration: ``processinstance/{id}?_action=validateMigration`` and ``migrate``.

Body (api-reference.md §3.3, rest-workflows-seed.md)::

    {"processDefinitionId": "...", "variables": {},
     "fromActivityIdMap": {"<fromActivityId>": {"toActivityId": "...", "localVariables": {}}}}

Every field is optional: without ``processDefinitionId`` the instance moves to the latest
version of its own key. A malformed body is 400 naming the field; an unknown or ended instance
404; a ``processDefinitionId`` nobody deployed 400 naming the field. What is valid, and what a
migration does, is the engine's (``engine.runtime.migration``).

- ``validateMigration``: 200 ``{"migrationValid": bool, "validationMessages": [...]}``
  (DECISIONS.md); nothing is written.
- ``migrate``: one ``MigrateInstance`` command through ``run_command`` (one commit). Valid: 200
  with the instance in the read shape; invalid: 400 with ``detail.validationMessages``. The same
  transaction also gives the target definition id to what the engine does not hold: the stored
  job items of the timers and async continuations the instance keeps, and its finished historic
  tasks and activity instances (as Flowable's ``updateProcessDefinitionIdInHistory``), jobs in
  the dead-letter table included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ...engine.runtime.commands import Command
from ...engine.runtime.state import InstanceState
from ...errors import BadRequest, NotFound
from ...storage.ports import Put, Table, VersionIs, Write
from ..container import Services
from ..definitions import cache as definitions
from ..definitions.cache import DeployedDefinition
from ..repositories import history
from ..repositories.history import HISTORY_SK
from ..repositories.jobs import dead_letter_key, definition_index, job_key
from ..unit_of_work import UnitOfWork, load_instance, run_command
from .lifecycle import read_instance

if TYPE_CHECKING:  # the executor is imported by the first command, not at cold start
    from ...engine.runtime.session import CommandResult

__all__ = ["MigrationRequest", "migration_request", "validate", "migrate"]

_FIELD = "fromActivityIdMap"


@dataclass(frozen=True)
class MigrationRequest:
    """A well-formed migration body: the target (None: latest of the same key), the instance
    variables and ``{from activity id: ActivityMigration}``."""

    definition_id: str | None
    variables: Mapping[str, Any]
    mappings: Mapping[str, Any]


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"The field '{name}' must be a JSON object")
    return value


def _text(value: Any, name: str, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"The field '{name}' must be a non-empty string")
    return value


def migration_request(body: Any) -> MigrationRequest:
    """Validate a migration body (400 naming the first bad field)."""
    from ...engine.runtime.commands import ActivityMigration

    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    definition_id = _text(body.get("processDefinitionId"), "processDefinitionId", required=False)
    variables = _object(body.get("variables"), "variables")
    mappings = {}
    for from_id, entry in _object(body.get(_FIELD), _FIELD).items():
        where = f"{_FIELD}.{from_id}"
        entry = _object(entry, where) if entry is not None else None
        if not from_id or not entry:
            raise BadRequest(f"The field '{where}' must be an object with a 'toActivityId'")
        to_id = _text(entry.get("toActivityId"), f"{where}.toActivityId", required=True)
        local = _object(entry.get("localVariables"), f"{where}.localVariables")
        mappings[from_id] = ActivityMigration(to_id, dict(local))  # type: ignore[arg-type]
    return MigrationRequest(definition_id, dict(variables), mappings)


def _running(state: InstanceState | None, instance_id: str) -> InstanceState:
    if state is None or state.header.status.is_ended:
        raise NotFound(f"Process instance {instance_id} not found")
    return state


def _target(
    container: Services, state: InstanceState, request: MigrationRequest
) -> DeployedDefinition:
    if request.definition_id is None:
        return definitions.latest_definition(container, state.header.definition_key)
    try:
        return definitions.get_definition(container, request.definition_id)
    except NotFound:
        raise BadRequest(
            f"The field 'processDefinitionId' names no deployed process "
            f"definition: '{request.definition_id}'"
        ) from None


def validate(container: Services, instance_id: str, body: Any) -> dict[str, Any]:
    """``validateMigration``: ``{"migrationValid", "validationMessages"}``; writes nothing."""
    from ...engine.runtime.migration import validate_migration

    request = migration_request(body)
    state = _running(load_instance(container, instance_id), instance_id)
    target = _target(container, state, request)
    source = definitions.get_definition(container, state.header.definition_id).process
    messages = validate_migration(state, source, target.process, target.id, request.mappings)
    return {"migrationValid": not messages, "validationMessages": messages}


def migrate(container: Services, instance_id: str, body: Any) -> dict[str, Any]:
    """``migrate``: the instance in the read shape once migrated (400 with
    ``detail.validationMessages`` when the migration is not valid)."""
    from ...engine.runtime.commands import MigrateInstance

    request = migration_request(body)
    chosen: dict[str, str] = {}

    def build(uow: UnitOfWork) -> Command:
        state = _running(uow.load(instance_id), instance_id)
        chosen["id"] = _target(container, state, request).id
        return MigrateInstance(instance_id, chosen["id"], request.variables, request.mappings)

    run_command(
        container,
        build,
        extra_writes=lambda result: _reference_writes(container, instance_id, chosen["id"], result),
    )
    return read_instance(container, instance_id)


def _reference_writes(
    container: Services, instance_id: str, definition_id: str, result: CommandResult
) -> list[Write]:
    """Kept job items (runtime or dead-letter) and finished history items of the instance, with
    the new definition id."""
    from ...engine.runtime.effects import HistoryRecord, JobRequested
    from ...engine.runtime.records import SubscriptionType

    state = result.instances[instance_id]
    requested = {e.job_id for e in result.effects if isinstance(e, JobRequested)}
    kept_jobs = {s.id for s in state.subscriptions.values() if s.type is SubscriptionType.TIMER}
    kept_jobs |= {e.job_id for e in state.executions.values() if e.job_id}
    writes: list[Write] = []
    for job_id in sorted(kept_jobs - requested):
        table, item = Table.RUNTIME, container.store.get(Table.RUNTIME, *job_key(job_id))
        if item is None:  # a job that ran out of retries waits in the dead-letter table
            table, item = (
                Table.DEADLETTER,
                container.store.get(Table.DEADLETTER, *dead_letter_key(job_id)),
            )
        if item is None or item.data.get("processDefinitionId") == definition_id:
            continue
        data = {**item.data, "processDefinitionId": definition_id}
        index = {**item.index, **definition_index(data)} if table is Table.RUNTIME else item.index
        updated = replace(item, data=data, index=index, version=(item.version or 1) + 1)
        writes.append(
            Put(table, updated, VersionIs(item.version or 1), replaces_chunks=item.stored_chunks)
        )
    written = {
        history.sort_key_of(e)
        for e in result.effects
        if isinstance(e, HistoryRecord) and e.kind in HISTORY_SK
    }
    for item in history.historic_tasks(container.store, instance_id).items:
        if item.sk in written or item.data.get("processDefinitionId") == definition_id:
            continue
        updated = replace(item, data={**item.data, "processDefinitionId": definition_id})
        writes.append(Put(Table.HISTORY, updated, replaces_chunks=item.stored_chunks))
    writes.extend(history.repointed(container.store, instance_id, definition_id))
    return writes
