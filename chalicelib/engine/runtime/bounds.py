"""The input limits (``chalicelib.limits``) at the engine's two edges of a command.

:func:`check_command` runs before the command does: the variables it brings (a start, complete,
trigger, message or signal body: how many, their names, nesting and sizes), its business key
and the task fields it sets. :func:`check_changes` runs after the command ran and before the
session hands its instances back for commit: every string of a changed record that becomes a
storage key or an index key (business key, start user, assignee, owner, candidates, message
and signal names) wherever it came from (a request, or an expression such as
``flowable:assignee="${who}"`` evaluated at run time), and an instance's variables as a whole
(count and bytes). A breach raises ``LimitExceeded``; the session then rolls the command back,
so nothing is written. Each variable is also checked as it is set
(:func:`~chalicelib.engine.runtime.variables.set_variable_local`), and each script's writes are
counted as the script ends (``behaviours.tasks``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.engine.runtime.commands import Command
from chalicelib.engine.runtime.records import (
    InstanceRecord,
    SubscriptionRecord,
    SubscriptionType,
    TaskRecord,
    VariableRecord,
)
from chalicelib.engine.runtime.state import InstanceState
from chalicelib.limits import (
    Limits,
    check_count,
    check_instance_variables,
    check_key,
    check_variable,
)

__all__ = ["check_command", "check_changes"]

#: task fields (``UpdateTask``) that are stored as index keys, by their API names
_TASK_KEY_FIELDS = {"assignee": "assignee", "owner": "owner"}
_EVENT_FIELDS = {SubscriptionType.MESSAGE: "messageName", SubscriptionType.SIGNAL: "signalName"}


def check_command(command: Command, limits: Limits) -> None:
    """The variables, business key and task fields a command brings (before it runs)."""
    variables = getattr(command, "variables", None)
    if isinstance(variables, Mapping) and variables:
        check_count(len(variables), limits, "request body", "The request")
        for name, value in variables.items():
            check_variable(name, value, limits)
    check_key(getattr(command, "business_key", None), limits, "businessKey")
    changes = getattr(command, "changes", None)
    if isinstance(changes, Mapping):
        for name, field in _TASK_KEY_FIELDS.items():
            check_key(changes.get(name), limits, field)


def check_changes(state: InstanceState, limits: Limits) -> None:
    """Every key string of the records the command put, and the instance's variables."""
    variables_changed = False
    for record in state.changed_records():
        if isinstance(record, VariableRecord):
            variables_changed = True
        elif isinstance(record, TaskRecord):
            _check_task(record, limits)
        elif isinstance(record, InstanceRecord):
            check_key(record.business_key, limits, "businessKey")
            check_key(record.start_user_id, limits, "startUserId")
        elif isinstance(record, SubscriptionRecord):
            check_key(record.event_name, limits, _EVENT_FIELDS.get(record.type, "eventName"))
    if variables_changed:
        check_instance_variables(_values(state), limits, state.id)


def _check_task(task: TaskRecord, limits: Limits) -> None:
    check_key(task.assignee, limits, "assignee")
    check_key(task.owner, limits, "owner")
    for user in task.candidate_users:
        check_key(user, limits, "candidateUsers")
    for group in task.candidate_groups:
        check_key(group, limits, "candidateGroups")


def _values(state: InstanceState) -> list[Any]:
    return [record.value for scope in state.variables.values() for record in scope.values()]
