"""Deploying BPMN: validate, version, store; list and delete deployments.

A deployment is one item collection of the repository table (``repositories.definitions`` docstring):
its header, one item per process definition and one per resource (BPMN files, forms, images).
``deploy`` writes all of it in one transaction together with the per-key version counters, each
conditioned on the value it read, so two concurrent deploys of one key never share a version: the
loser's transaction fails and it retries with fresh counters.

Duplicate filtering (Flowable's ``enableDuplicateFiltering``): a deployment records the hash of
its BPMN and resources; deploying the same content again from the same source (a model, or one
file of ``workflow/``) as its latest deployment returns that deployment's ids with
``duplicate=True`` and writes nothing.

Event registry: ``.event`` and ``.channel`` resources are validated at deploy and stored as
registry items in the same transaction; a BPMN naming an event type that is neither in the
deployment nor already deployed is refused (``event_registry.on_deploy``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ...clock import format_iso
from ...errors import BadRequest, Conflict, NotFound
from ...ids import new_id
from ...limits import check_key
from ...storage.aggregate import retry_on_conflict
from ...storage.ports import (
    MAX_TRANSACTION_WRITES,
    Delete,
    Item,
    ItemStore,
    MustExist,
    MustNotExist,
    Put,
    Table,
    VersionIs,
    Write,
)
from ..container import Services
from ..repositories import definitions as repo
from ..repositories.definitions import load_deployment
from ..repositories.instance_reads import any_lookup, lookup_count
from ..repositories.jobs import counted
from . import action_checks, event_registry, start_events
from .cache import forget
from .errors import InvalidDeployment
from .naming import BPMN_SUFFIXES, generated_diagram_name, record_of, resource_base

if TYPE_CHECKING:  # the engine is imported when a deploy needs it (cold-start import cost)
    from ...engine import Definitions, ProcessDefinitionModel

__all__ = [
    "DeployResult",
    "deploy",
    "list_deployments",
    "delete_deployment",
    "running_instances",
    "any_running",
    "content_hash",
    "check_resource_name",
    "BPMN_SUFFIXES",
    "MAX_RESOURCE_NAME",
]

MAX_RESOURCE_NAME = 512
_DIAGRAM_SUFFIXES = ("png", "jpg", "gif", "svg")
#: Deploy attempts when a concurrent deploy of the same key wins the version race.
DEPLOY_ATTEMPTS = 12

Resource = "str | bytes"


@dataclass(frozen=True)
class DeployResult:
    """What ``model?_action=deploy`` answers."""

    deployment_id: str
    definition_ids: tuple[str, ...]
    duplicate: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "deploymentId": self.deployment_id,
            "processDefinitionIds": list(self.definition_ids),
            "duplicate": self.duplicate,
        }


def check_resource_name(name: Any, where: str = "resourceMap") -> str:
    """A resource name: a non-empty relative path without ``..`` (else 400 naming ``where``)."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_RESOURCE_NAME:
        raise BadRequest(
            f"{where}: resource names must be non-empty strings of at most "
            f"{MAX_RESOURCE_NAME} characters"
        )
    parts = name.replace("\\", "/").split("/")
    if name.startswith("/") or ".." in parts or "#chunk#" in name:
        raise BadRequest(f"{where}: resource name '{name}' is not a valid relative name")
    return name


def content_hash(bpmn: Mapping[str, str], resources: Mapping[str, Any]) -> str:
    """SHA-256 over the BPMN and resources (names and contents), order-independent."""
    digest = hashlib.sha256()
    for group, entries in (("bpmn", bpmn), ("resource", resources)):
        for name in sorted(entries):
            value = entries[name]
            data = value if isinstance(value, bytes) else str(value).encode("utf-8")
            digest.update(json.dumps([group, name, len(data)]).encode())
            digest.update(data)
    return digest.hexdigest()


def running_instances(container: Services, definition_id: str) -> int:
    """How many process instances of ``definition_id`` are running (or suspended): the
    maintained count of its ``lookup-sort`` partition (one Query)."""
    return lookup_count(container.store, "pdi", definition_id)


def any_running(container: Services, definition_ids: Iterable[str]) -> bool:
    """Whether an instance of any of ``definition_ids`` runs (``delete_deployment``'s 409):
    one ``lookup-sort`` index Query of at most one item per definition id, stopping at the
    first that finds one. The index is eventually consistent: an instance started a moment
    ago may not show yet, as with the listing it replaces."""
    return any(
        any_lookup(container.store, "pdi", definition_id) for definition_id in definition_ids
    )


# --- deploy ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parsed:
    resource_name: str
    definitions: Definitions
    processes: tuple[ProcessDefinitionModel, ...]


def _parse_all(bpmn: Mapping[str, str]) -> list[_Parsed]:
    """Validate every BPMN resource; ``InvalidDeployment`` listing every problem of them all."""
    from ...engine import validate_bpmn

    if not bpmn:
        raise BadRequest("A deployment needs at least one BPMN resource")
    errors: list[dict] = []
    warnings: list[dict] = []
    parsed: list[_Parsed] = []
    for name in sorted(bpmn):
        report = validate_bpmn(bpmn[name], resource_name=name)
        label = {"resourceName": name} if len(bpmn) > 1 else {}
        errors.extend({**p.to_json(), **label} for p in report.errors)
        warnings.extend({**p.to_json(), **label} for p in report.warnings)
        if report.valid and report.definitions is not None:
            parsed.append(
                _Parsed(name, report.definitions, report.definitions.executable_processes)
            )
    seen: dict[str, str] = {}
    for item in parsed:
        for process in item.processes:
            if process.key in seen:
                errors.append(
                    {
                        "problem": "duplicate-process-key",
                        "defaultDescription": f"process key '{process.key}' is defined in both "
                        f"{seen[process.key]} and {item.resource_name}",
                        "activityId": process.key,
                        "activityName": process.name,
                        "processDefinitionId": process.key,
                        "xmlLineNumber": process.line,
                        "xmlColumnNumber": process.column,
                        "isWarning": False,
                    }
                )
            seen[process.key] = item.resource_name
    if errors:
        first = errors[0]
        raise InvalidDeployment(
            f"The BPMN is not valid ({len(errors)} error(s)); first: line "
            f"{first.get('xmlLineNumber')}: {first.get('defaultDescription')}",
            {"errors": errors, "warnings": warnings},
        )
    return parsed


def _diagram_resource(
    resource_name: str, key: str, names: Iterable[str], *, graphical: bool
) -> str | None:
    """``processDiagramResourceName`` as Flowable sets it at deploy: a shipped image
    ``<base>.<key>.<png|jpg|gif|svg>`` (else ``<base>.<ext>``) of the deployment; else, when
    the process has diagram interchange, the name of the PNG Flowable generates from it,
    ``<base>.<key>.png`` (DECISIONS.md). That image is drawn when asked for (``diagram``),
    not stored."""
    base = resource_base(resource_name)
    available = set(names)
    for candidate in [f"{base}.{key}.{ext}" for ext in _DIAGRAM_SUFFIXES] + [
        f"{base}.{ext}" for ext in _DIAGRAM_SUFFIXES
    ]:
        if candidate in available:
            return candidate
    return generated_diagram_name(resource_name, key) if graphical else None


def definition_record(
    process: ProcessDefinitionModel,
    parsed: _Parsed,
    version: int,
    deployment_id: str,
    resource_names: Iterable[str],
) -> dict[str, Any]:
    """The process definition item of api-reference.md §8 (query shape)."""
    shapes = parsed.definitions.diagram.shapes
    graphical = any(node_id in shapes for node_id in process.elements)
    return {
        "_id": repo.definition_id(process.key, version, deployment_id),
        "_rev": "1",
        "key": process.key,
        "name": process.name,
        "category": parsed.definitions.category,
        "description": process.documentation,
        "version": version,
        "deploymentId": deployment_id,
        "resourceName": parsed.resource_name,
        "processDiagramResourceName": _diagram_resource(
            parsed.resource_name, process.key, resource_names, graphical=graphical
        ),
        "hasStartFormKey": bool(process.start_form_key),
        "graphicalNotationDefined": graphical,
        "suspended": False,
        "suspensionState": 1,
        "tenantId": "",
    }


def _resource_item(deployment_id: str, name: str, value: Any) -> Item:
    if isinstance(value, bytes):
        try:
            data = {"name": name, "text": value.decode("utf-8")}
        except UnicodeDecodeError:
            data = {"name": name, "base64": base64.b64encode(value).decode("ascii")}
    else:
        data = {"name": name, "text": str(value)}
    return repo.resource_item(deployment_id, data)


def _latest_of_source(store: ItemStore, source: str) -> Item | None:
    page = store.query(Table.REPOSITORY, repo.source_pk(source), limit=1, descending=True)
    return page.items[0] if page.items else None


def _check_actions(
    container: Services, parsed: list[_Parsed], registry: event_registry.RegistryChanges
) -> None:
    """HTTP, mail and external worker tasks against the stage's settings (``action_checks``)."""

    def channel(key: str) -> Any:
        return registry.channels.get(key) or event_registry.cached_channel(container, key)

    processes = [process for item in parsed for process in item.processes]
    errors = action_checks.check_actions(container.settings, processes, channel)
    if errors:
        first = errors[0]
        raise InvalidDeployment(
            f"The BPMN cannot run on this stage ({len(errors)} error(s)); first: line "
            f"{first['xmlLineNumber']}: {first['defaultDescription']}",
            {"errors": errors, "warnings": []},
        )


def deploy(
    container: Services,
    *,
    source: str,
    name: str,
    bpmn: Mapping[str, str],
    resources: Mapping[str, Any] | None = None,
) -> DeployResult:
    """Validate and deploy ``bpmn`` (resource name -> XML) with ``resources`` as one deployment.

    ``source`` identifies where it comes from (``model:<id>``, ``file:<name>``) for duplicate
    filtering and ``list_deployments``. Raises ``InvalidDeployment`` (400, ``detail.errors``),
    ``BadRequest`` for a deployment too large for one transaction.
    """
    resources = dict(resources or {})
    for resource_name in list(bpmn) + list(resources):
        check_resource_name(resource_name)
    clash = sorted(set(bpmn) & set(resources))
    if clash:
        raise BadRequest(f"resourceMap: '{clash[0]}' clashes with the BPMN resource name")
    parsed = _parse_all(bpmn)
    for item in parsed:  # a process id becomes the definition key: a storage key
        for process in item.processes:
            check_key(process.key, container.settings.limits, "processDefinitionKey")
    registry = event_registry.on_deploy(
        container.store,
        bpmn,
        resources,
        container.settings.events_queue,
        container.settings.inbound_queues,
    )
    _check_actions(container, parsed, registry)
    digest = content_hash(bpmn, resources)
    store = container.store

    def attempt() -> DeployResult:
        latest = _latest_of_source(store, source)
        if latest is not None and latest.data.get("contentHash") == digest:
            return DeployResult(
                latest.data["deploymentId"], tuple(latest.data["processDefinitionIds"]), True
            )
        return _write(container, source, name, bpmn, resources, parsed, digest, registry)

    return retry_on_conflict(attempt, attempts=DEPLOY_ATTEMPTS, delay=0.02)


def _write(
    container: Services,
    source: str,
    name: str,
    bpmn: Mapping[str, str],
    resources: Mapping[str, Any],
    parsed: list[_Parsed],
    digest: str,
    registry: event_registry.RegistryChanges,
) -> DeployResult:
    store = container.store
    deployment_id = new_id()
    deploy_time = cast(str, format_iso(container.clock.now()))
    names = list(bpmn) + list(resources)
    writes: list[Write] = []
    definition_ids: list[str] = []
    for item in parsed:
        for process in item.processes:
            counter = repo.read_counter(store, process.key)
            current = int(counter.version or 0) if counter is not None else 0
            version = current + 1
            record = definition_record(process, item, version, deployment_id, names)
            definition_ids.append(record["_id"])
            writes.append(
                Put(
                    Table.REPOSITORY,
                    repo.definition_item(deployment_id, record, process.key, version),
                    MustNotExist(),
                )
            )
            writes.append(
                Put(
                    Table.REPOSITORY,
                    repo.counter_item(process.key, record["_id"], version),
                    VersionIs(current) if counter is not None else MustNotExist(),
                )
            )
    header = {
        "deploymentId": deployment_id,
        "name": name,
        "source": source,
        "contentHash": digest,
        "deployTime": deploy_time,
        "processDefinitionIds": definition_ids,
        "resourceNames": names,
    }
    writes.insert(
        0,
        Put(
            Table.REPOSITORY,
            repo.deployment_item(deployment_id, header),
            MustNotExist(),
        ),
    )
    writes.append(
        Put(
            Table.REPOSITORY,
            repo.deployment_source_item(
                source,
                deployment_id,
                {
                    "contentHash": digest,
                    "deployTime": deploy_time,
                    "processDefinitionIds": definition_ids,
                },
            ),
        )
    )
    for resource_name, text in list(bpmn.items()) + list(resources.items()):
        writes.append(Put(Table.REPOSITORY, _resource_item(deployment_id, resource_name, text)))
    writes.extend(registry.writes(deployment_id, deploy_time))

    processes = [process for item in parsed for process in item.processes]
    starts = start_events.on_deploy(container, zip(processes, definition_ids))
    writes.extend(event_registry.start_writes(store, zip(processes, definition_ids)))
    store.transact(counted(writes + starts.writes))
    event_registry.forget_cached(container)
    starts.publish(container)
    return DeployResult(deployment_id, tuple(definition_ids), False)


# --- read, list, delete ----------------------------------------------------------------------


def list_deployments(container: Services, source: str) -> list[dict[str, Any]]:
    """Every deployment from ``source``, oldest first: ``{deploymentId, processDefinitionIds,
    deployTime}``."""
    found: list[dict[str, Any]] = []
    token = None
    while True:
        page = container.store.query(
            Table.REPOSITORY, repo.source_pk(source), limit=500, start=token
        )
        found.extend(
            {
                "deploymentId": item.data["deploymentId"],
                "processDefinitionIds": list(item.data["processDefinitionIds"]),
                "deployTime": item.data["deployTime"],
            }
            for item in page.items
        )
        if page.next_token is None:
            return found
        token = page.next_token


def delete_deployment(container: Services, definition_id: str) -> dict[str, Any]:
    """Delete the deployment holding ``definition_id`` (all its definitions and resources).

    Returns the definition record as it was. 404 for an unknown definition; 409 when one of
    the deployment's definitions has running instances (``any_running``).
    """
    parts = repo.split_definition_id(definition_id)
    deployment = load_deployment(container.store, parts[2]) if parts else None
    if deployment is None or definition_id not in deployment.definitions:
        raise NotFound(f"No deployed process definition found with id '{definition_id}'")
    if any_running(container, deployment.definitions):
        raise Conflict("The process definition has running instances, can not be deleted")
    record = record_of(deployment.definitions[definition_id].data)
    header = deployment.header
    source_delete = Delete(
        Table.REPOSITORY,
        repo.source_pk(header.data["source"]),
        repo.source_sk(header.data["deployTime"], deployment.deployment_id),
    )
    first: list[Write] = [Delete.of(Table.REPOSITORY, header, MustExist()), source_delete]
    first.extend(Delete.of(Table.REPOSITORY, item) for item in deployment.definitions.values())
    rest: list[Write] = [
        Delete.of(Table.REPOSITORY, item) for item in deployment.resources.values()
    ]
    first.extend(event_registry.start_deletes(container, deployment.definitions))
    first.extend(
        event_registry.on_delete(
            deployment.resources.values(), header.data["deployTime"], deployment.deployment_id
        )
    )

    starts = start_events.on_undeploy(container, deployment.definitions)
    for batch in _batches(counted(first + starts.writes), rest):
        container.store.transact(batch)
    starts.publish(container)
    forget(container, deployment.definitions)
    event_registry.forget_cached(container)
    return record


def _batches(first: list[Write], rest: list[Write]) -> list[list[Write]]:
    """``first`` in the first transaction (with as much of ``rest`` as fits), then the rest."""
    batches: list[list[Write]] = [list(first)]
    used = sum(1 + getattr(write, "chunks", 0) for write in first)
    for write in rest:
        cost = 1 + getattr(write, "chunks", 0)
        if used + cost > MAX_TRANSACTION_WRITES:
            batches.append([])
            used = 0
        batches[-1].append(write)
        used += cost
    return batches
