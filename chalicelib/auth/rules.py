"""Authorization: resources declare who may do what; ``Policy.authorize`` says yes or 403.

A rule is (resource, operations[, actions], roles[, when]). A request is allowed when the caller
is an admin, or when some rule matches: same resource, the operation is one of the rule's (for
``ACTION``, the action is one of the rule's actions, or the rule names none), the caller holds
one of the rule's roles, and the rule's ``when(caller, context)`` predicate (if any) is true.
Otherwise ``Forbidden()`` (403 ``Access denied``). A caller with no role beyond
``internal/role/openidm-reg`` (``anonymous``) is refused whatever the rules say.

Resource names are the route families of ``RESOURCES``. ``context`` is whatever the rule's
predicate needs; ``default_policy`` documents what each of its rules expects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..crest.enums import RequestType
from ..errors import Forbidden
from .access import ProcessAccess
from .caller import AUTHORIZED_ROLE, REG_ROLE, Caller

__all__ = [
    "RESOURCES",
    "UNASSIGNED_TASK_QUERY",
    "Gate",
    "Operation",
    "as_operation",
    "Predicate",
    "Rule",
    "Policy",
    "subject",
    "is_assignee",
    "is_candidate",
    "can_update_task",
    "may_start",
    "default_policy",
]

#: The route families rules may name.
RESOURCES = frozenset(
    {
        "processdefinition",
        "processdefinition/taskdefinition",
        "processinstance",
        "processinstance/history",
        "taskinstance",
        "taskinstance/history",
        "execution",
        "job",
        "job/deadletter",
        "model",
    }
)
UNASSIGNED_TASK_QUERY = "unassignedTaskQuery"

Predicate = Callable[[Caller, Mapping[str, Any]], bool]


#: The CREST operation of a request: the same enum the CREST request parser produces.
Operation = RequestType


def as_operation(value: Any) -> Operation:
    """An ``Operation`` from itself or its value (``"read"``); ``ValueError`` otherwise."""
    if isinstance(value, Operation):
        return value
    if isinstance(value, str):
        try:
            return Operation(value)
        except ValueError:
            pass
    raise ValueError(f"unknown operation {value!r}")


class Gate(Enum):
    """The outcome of ``Policy.gate``."""

    DENY = "deny"
    ALLOW = "allow"
    CHECK_SUBJECT = "check-subject"


@dataclass(frozen=True)
class Rule:
    """One declared permission. Build through ``Policy.allow``."""

    resource: str
    operations: frozenset[Operation]
    actions: frozenset[str] | None
    roles: frozenset[str]
    when: Predicate | None = None

    def applies(
        self, caller: Caller, resource: str, operation: Operation, action: str | None
    ) -> bool:
        """Whether this rule speaks to the request (its predicate aside)."""
        if resource != self.resource or operation not in self.operations:
            return False
        if (
            operation is Operation.ACTION
            and self.actions is not None
            and action not in self.actions
        ):
            return False
        return bool(self.roles & caller.roles)

    def permits(
        self,
        caller: Caller,
        resource: str,
        operation: Operation,
        action: str | None,
        context: Mapping[str, Any],
    ) -> bool:
        """Whether this rule allows the request."""
        if not self.applies(caller, resource, operation, action):
            return False
        return self.when is None or bool(self.when(caller, context))


def _check_resource(resource: str) -> None:
    if resource not in RESOURCES:
        raise ValueError(f"unknown resource {resource!r}; expected one of {sorted(RESOURCES)}")


class Policy:
    """The declared rules. Admins may do everything; no matching rule is 403."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules declared so far, in order."""
        return tuple(self._rules)

    def allow(
        self,
        resource: str,
        operations: Iterable[Operation],
        *,
        actions: Iterable[str] | None = None,
        when: Predicate | None = None,
        roles: Iterable[str] = frozenset({AUTHORIZED_ROLE}),
    ) -> Rule:
        """Declare that holders of ``roles`` may do ``operations`` on ``resource`` (when ...).

        ``actions`` narrows ``Operation.ACTION`` to those action names (None: any action).
        Raises ``ValueError`` for a declaration that cannot mean what it says.
        """
        _check_resource(resource)
        operations = frozenset(as_operation(op) for op in operations)
        if not operations:
            raise ValueError("operations must be a non-empty set of Operation")
        if actions is not None:
            if isinstance(actions, str):
                raise ValueError("actions must be a set of action names, not a string")
            actions = frozenset(actions)
            if not actions or Operation.ACTION not in operations:
                raise ValueError("actions need Operation.ACTION and at least one action name")
        if isinstance(roles, str):
            raise ValueError("roles must be a set of role names, not a string")
        roles = frozenset(roles)
        if not roles or roles <= {REG_ROLE}:
            raise ValueError("a rule must name at least one role other than openidm-reg")
        rule = Rule(resource, operations, actions, roles, when)
        self._rules.append(rule)
        return rule

    def gate(
        self,
        caller: Caller,
        resource: str,
        operation: Operation | str,
        *,
        action: str | None = None,
    ) -> Gate:
        """The first of two checks, made before the resource loads anything.

        ``Gate.DENY``: no rule could allow the request whatever the item (403 at once).
        ``Gate.ALLOW``: allowed outright (admins; rules without a predicate).
        ``Gate.CHECK_SUBJECT``: a rule may allow it, depending on the item: the resource must
        call ``authorize`` with the item it loaded (the HTTP layer verifies that it did).
        """
        _check_resource(resource)
        operation = as_operation(operation)
        if caller.is_admin:
            return Gate.ALLOW
        if not caller.roles - {REG_ROLE}:
            return Gate.DENY
        applicable = [
            rule for rule in self._rules if rule.applies(caller, resource, operation, action)
        ]
        if not applicable:
            return Gate.DENY
        if any(rule.when is None for rule in applicable):
            return Gate.ALLOW
        return Gate.CHECK_SUBJECT

    def permits(
        self,
        caller: Caller,
        resource: str,
        operation: Operation | str,
        *,
        action: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> bool:
        """Whether ``caller`` may do ``operation`` (``action``) on ``resource`` in ``context``.

        ``operation`` may also be its string value or a str enum of those values. An unknown
        resource or operation is a programming error (``ValueError``), not a 403.
        """
        _check_resource(resource)
        operation = as_operation(operation)
        if caller.is_admin:
            return True
        if not caller.roles - {REG_ROLE}:  # anonymous, or no roles at all
            return False
        context = {} if context is None else context
        return any(
            rule.permits(caller, resource, operation, action, context) for rule in self._rules
        )

    def authorize(
        self,
        caller: Caller,
        resource: str,
        operation: Operation | str,
        *,
        action: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Return when allowed; raise ``Forbidden()`` (403 ``Access denied``) otherwise."""
        if not self.permits(caller, resource, operation, action=action, context=context):
            raise Forbidden()

    def readable(self, caller: Caller, resource: str, items: Iterable[Mapping[str, Any]]) -> list:
        """The items ``caller`` may READ (each item is the READ rule's context): query filtering."""
        return [
            item for item in items if self.permits(caller, resource, Operation.READ, context=item)
        ]


# --- predicates ----------------------------------------------------------------------------------
#
# A predicate's subject (the task, the definition) is ``context[key]`` when the context carries it
# under that key (``{"task": {...}, ...}``), else the context itself is the subject.


def subject(context: Any, key: str) -> Mapping[str, Any]:
    """The item a rule is about: ``context[key]`` if it is a mapping, else ``context``."""
    if not isinstance(context, Mapping):
        return {}
    inner = context.get(key)
    return inner if isinstance(inner, Mapping) else context


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [v for v in value if isinstance(v, str)]
    return []


def is_assignee(caller: Caller, task: Mapping[str, Any]) -> bool:
    """The task (or ``context["task"]``) is assigned to the caller."""
    task = subject(task, "task")
    assignee = task.get("assignee")
    return isinstance(assignee, str) and bool(assignee) and assignee == caller.user_id


def is_candidate(caller: Caller, task: Mapping[str, Any]) -> bool:
    """The caller is a candidate user, or holds a candidate group (a role or group, exactly)."""
    task = subject(task, "task")
    if caller.user_id in _strings(task.get("candidateUsers")):
        return True
    return any(group in caller.authz_strings for group in _strings(task.get("candidateGroups")))


def can_update_task(caller: Caller, task: Mapping[str, Any]) -> bool:
    """Read or update (including the assignee): the assignee or a candidate."""
    return is_assignee(caller, task) or is_candidate(caller, task)


def _is_unassigned_task_query(caller: Caller, context: Mapping[str, Any]) -> bool:
    return isinstance(context, Mapping) and context.get("_queryId") == UNASSIGNED_TASK_QUERY


def may_start(process_access: ProcessAccess) -> Predicate:
    """A predicate: ``process_access.can_start`` on the definition (or ``context["definition"]``)."""

    def predicate(caller: Caller, context: Mapping[str, Any]) -> bool:
        return process_access.can_start(caller, subject(context, "definition"))

    return predicate


def default_policy(process_access: ProcessAccess) -> Policy:
    """The rules of DECISIONS.md, for ``internal/role/openidm-authorized`` callers.

    Admins may do everything (built into ``Policy``). "The task" / "the definition" below is the
    context itself or ``context["task"]`` / ``context["definition"]`` (see ``subject``); a
    context without its subject is refused. Each rule and the context it expects:

    * ``taskinstance`` READ, UPDATE: context = the task item; assignee or candidate.
    * ``taskinstance`` ACTION ``complete``: context = the task item; the assignee only.
      (``claim`` is admin-only: non-admins self-assign with an UPDATE of ``assignee``.)
    * ``taskinstance`` QUERY: context = the query parameters; only
      ``_queryId=unassignedTaskQuery``, which the resource filters to the caller's candidacy.
    * ``processinstance`` CREATE: context = the definition the request would start;
      ``process_access.can_start``.
    * ``processdefinition`` READ: context = the definition; ``can_start``.
    * ``processdefinition`` QUERY: allowed; the resource MUST filter the items with
      ``Policy.readable(caller, "processdefinition", items)`` (or ``process_access.startable``).
    * ``processdefinition/taskdefinition`` READ, QUERY: context = the parent definition;
      ``can_start``.

    Everything else (history, executions, jobs, models, deletes, claim, other queries): 403.
    """
    startable = may_start(process_access)
    policy = Policy()
    policy.allow("taskinstance", {Operation.READ, Operation.UPDATE}, when=can_update_task)
    policy.allow("taskinstance", {Operation.ACTION}, actions={"complete"}, when=is_assignee)
    policy.allow("taskinstance", {Operation.QUERY}, when=_is_unassigned_task_query)
    policy.allow("processinstance", {Operation.CREATE}, when=startable)
    policy.allow("processdefinition", {Operation.READ}, when=startable)
    policy.allow("processdefinition", {Operation.QUERY})
    policy.allow(
        "processdefinition/taskdefinition", {Operation.READ, Operation.QUERY}, when=startable
    )
    return policy
