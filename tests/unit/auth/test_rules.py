"""chalicelib.auth.rules: the rule engine and every rule of the default policy."""

from __future__ import annotations

import pytest

from chalicelib.api.errors import error_envelope
from chalicelib.auth.access import ProcessAccess
from chalicelib.auth.caller import ADMIN_ROLE, AUTHORIZED_ROLE, REG_ROLE, Caller, CallerSource
from chalicelib.auth.rules import (
    RESOURCES,
    Operation,
    Policy,
    as_operation,
    can_update_task,
    default_policy,
    is_assignee,
    is_candidate,
)
from chalicelib.errors import Forbidden

ALL_OPS = list(Operation)


def caller(user="alice", roles=(AUTHORIZED_ROLE,), groups=()):
    return Caller(user, roles, groups, CallerSource.HEADERS)


ADMIN = caller("openidm-admin", (ADMIN_ROLE, AUTHORIZED_ROLE))
ALICE = caller("alice", (AUTHORIZED_ROLE, "employee"), ("finance",))
BOB = caller("bob")
ANON = caller("anonymous", (REG_ROLE,))

ONBOARDING = {"_id": "contractorOnboarding:1:5", "name": "Contractor onboarding process"}
SECRET = {"_id": "secret:1:1", "name": "Secret process"}
ACCESS = ProcessAccess.from_dict(
    {
        "workflowAccess": [
            {
                "propertiesCheck": {
                    "property": "name",
                    "matches": "Contractor onboarding process",
                    "requiresRole": "employee",
                }
            }
        ]
    }
)


def task(assignee=None, users=(), groups=()):
    return {
        "_id": "t1",
        "assignee": assignee,
        "candidateUsers": list(users),
        "candidateGroups": list(groups),
    }


# --- predicates -------------------------------------------------------------------------------


def test_is_assignee():
    assert is_assignee(ALICE, task("alice"))
    assert not is_assignee(ALICE, task("bob"))
    assert not is_assignee(ALICE, task(None))
    assert not is_assignee(ALICE, task(""))
    assert not is_assignee(ALICE, {})
    assert not is_assignee(ALICE, None)  # type: ignore[arg-type]


def test_is_candidate_user_role_or_group():
    assert is_candidate(ALICE, task(users=["bob", "alice"]))
    assert is_candidate(ALICE, task(groups=["finance"]))  # a group
    assert is_candidate(ALICE, task(groups=["employee"]))  # a role
    assert is_candidate(ALICE, task(groups=[AUTHORIZED_ROLE]))
    assert not is_candidate(ALICE, task(groups=["Finance"]))  # exact match only
    assert not is_candidate(ALICE, task(groups=["fin"]))
    assert not is_candidate(ALICE, task(users=["bob"], groups=["hr"]))
    assert not is_candidate(ALICE, task("alice"))  # assignee is not candidate
    assert not is_candidate(ALICE, {"candidateUsers": None, "candidateGroups": 7})
    assert is_candidate(ALICE, {"candidateUsers": "alice"})  # a lone string is tolerated


def test_can_update_task():
    assert can_update_task(ALICE, task("alice"))
    assert can_update_task(ALICE, task("bob", users=["alice"]))
    assert can_update_task(ALICE, task(groups=["finance"]))
    assert not can_update_task(ALICE, task("bob", users=["carol"], groups=["hr"]))


# --- the engine -------------------------------------------------------------------------------


def test_no_rule_is_forbidden_and_admin_may_do_everything():
    policy = Policy()
    with pytest.raises(Forbidden) as info:
        policy.authorize(BOB, "model", Operation.READ, context={})
    assert error_envelope(info.value) == {
        "code": 403,
        "reason": "Forbidden",
        "message": "Access denied",
    }
    for resource in RESOURCES:
        for op in ALL_OPS:
            policy.authorize(ADMIN, resource, op, action="anything", context={})


def test_roles_operations_actions_and_when():
    policy = Policy()
    policy.allow("job", {Operation.READ}, roles={"ops"})
    policy.allow(
        "job",
        {Operation.ACTION},
        actions={"execute"},
        roles={"ops"},
        when=lambda c, ctx: ctx.get("ok") is True,
    )
    ops = caller("o", ("ops",))
    assert policy.permits(ops, "job", Operation.READ)
    assert not policy.permits(BOB, "job", Operation.READ)  # lacks the role
    assert not policy.permits(ops, "job", Operation.DELETE)  # other operation
    assert not policy.permits(ops, "job/deadletter", Operation.READ)  # other resource
    assert policy.permits(ops, "job", Operation.ACTION, action="execute", context={"ok": True})
    assert not policy.permits(ops, "job", Operation.ACTION, action="execute", context={})
    assert not policy.permits(
        ops, "job", Operation.ACTION, action="stacktrace", context={"ok": True}
    )
    assert not policy.permits(ops, "job", Operation.ACTION, context={"ok": True})


def test_actions_none_means_any_action():
    policy = Policy()
    policy.allow("model", {Operation.ACTION}, roles={"x"})
    assert policy.permits(caller("c", ("x",)), "model", Operation.ACTION, action="deploy")


def test_anonymous_is_refused_even_by_a_rule_naming_its_role():
    policy = Policy()
    policy.allow("model", {Operation.READ}, roles={REG_ROLE, AUTHORIZED_ROLE})
    assert policy.permits(BOB, "model", Operation.READ)
    assert not policy.permits(ANON, "model", Operation.READ)
    assert not policy.permits(caller("noroles", ()), "model", Operation.READ)


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("nope", {Operation.READ}), {}),
        (("model", set()), {}),
        (("model", {"fetch"}), {}),
        (("model", {Operation.READ}), {"actions": {"deploy"}}),  # actions without ACTION
        (("model", {Operation.ACTION}), {"actions": set()}),
        (("model", {Operation.ACTION}), {"actions": "deploy"}),
        (("model", {Operation.READ}), {"roles": set()}),
        (("model", {Operation.READ}), {"roles": {REG_ROLE}}),
        (("model", {Operation.READ}), {"roles": "internal/role/openidm-authorized"}),
    ],
)
def test_bad_declarations_are_refused(args, kwargs):
    with pytest.raises(ValueError):
        Policy().allow(*args, **kwargs)


def test_unknown_resource_or_operation_at_authorize_is_a_programming_error():
    with pytest.raises(ValueError):
        Policy().authorize(ADMIN, "workflow/taskinstance", Operation.READ, context={})
    with pytest.raises(ValueError):
        Policy().authorize(ADMIN, "taskinstance", "fetch", context={})


# --- the default policy -----------------------------------------------------------------------


@pytest.fixture
def policy():
    return default_policy(ACCESS)


def allowed(policy, who, resource, op, action=None, context=None):
    return policy.permits(who, resource, op, action=action, context=context or {})


def test_admin_everything(policy):
    for resource in RESOURCES:
        for op in ALL_OPS:
            policy.authorize(ADMIN, resource, op, action="claim", context={})


@pytest.mark.parametrize("op", [Operation.READ, Operation.UPDATE])
def test_task_read_update_assignee_or_candidate(policy, op):
    assert allowed(policy, ALICE, "taskinstance", op, context=task("alice"))
    assert allowed(policy, ALICE, "taskinstance", op, context=task(None, users=["alice"]))
    assert allowed(policy, ALICE, "taskinstance", op, context=task("bob", groups=["finance"]))
    assert allowed(policy, ALICE, "taskinstance", op, context=task(None, groups=["employee"]))
    assert not allowed(policy, BOB, "taskinstance", op, context=task("alice", groups=["hr"]))
    assert not allowed(policy, ALICE, "taskinstance", op, context={})


def test_task_complete_only_as_assignee(policy):
    def complete(who, t):
        return allowed(policy, who, "taskinstance", Operation.ACTION, "complete", t)

    assert complete(ALICE, task("alice"))
    assert not complete(ALICE, task(None, users=["alice"]))  # candidate only
    assert not complete(ALICE, task("bob", groups=["finance"]))
    assert not complete(BOB, task("alice"))
    with pytest.raises(Forbidden):
        policy.authorize(
            ALICE,
            "taskinstance",
            Operation.ACTION,
            action="complete",
            context=task(None, users=["alice"]),
        )


def test_task_claim_delete_patch_are_admin_only(policy):
    own = task("alice", users=["alice"])
    assert not allowed(policy, ALICE, "taskinstance", Operation.ACTION, "claim", own)
    assert not allowed(policy, ALICE, "taskinstance", Operation.DELETE, context=own)
    assert not allowed(policy, ALICE, "taskinstance", Operation.PATCH, context=own)
    assert not allowed(policy, ALICE, "taskinstance", Operation.CREATE, context=own)
    assert allowed(policy, ADMIN, "taskinstance", Operation.ACTION, "claim", own)


def test_task_query_only_unassigned_task_query(policy):
    assert allowed(
        policy, ALICE, "taskinstance", Operation.QUERY, context={"_queryId": "unassignedTaskQuery"}
    )
    assert not allowed(
        policy, ALICE, "taskinstance", Operation.QUERY, context={"_queryId": "filtered-query"}
    )
    assert not allowed(
        policy, ALICE, "taskinstance", Operation.QUERY, context={"_queryFilter": "true"}
    )
    assert not allowed(policy, ALICE, "taskinstance", Operation.QUERY)
    assert allowed(policy, ADMIN, "taskinstance", Operation.QUERY, context={"_queryFilter": "true"})


def test_start_process_only_where_process_access_grants(policy):
    assert allowed(policy, ALICE, "processinstance", Operation.CREATE, context=ONBOARDING)
    assert not allowed(policy, ALICE, "processinstance", Operation.CREATE, context=SECRET)
    assert not allowed(policy, BOB, "processinstance", Operation.CREATE, context=ONBOARDING)
    assert not allowed(policy, ALICE, "processinstance", Operation.CREATE, context={})
    assert allowed(policy, ADMIN, "processinstance", Operation.CREATE, context=SECRET)


def test_start_requires_authorized_role_as_well():
    # holding the process-access role alone is not enough: the rule is for authorized users
    employee_only = caller("e", ("employee",))
    assert ACCESS.can_start(employee_only, ONBOARDING)
    assert not default_policy(ACCESS).permits(
        employee_only, "processinstance", Operation.CREATE, context=ONBOARDING
    )


def test_process_definition_read_and_query(policy):
    assert allowed(policy, ALICE, "processdefinition", Operation.READ, context=ONBOARDING)
    assert not allowed(policy, ALICE, "processdefinition", Operation.READ, context=SECRET)
    assert not allowed(policy, BOB, "processdefinition", Operation.READ, context=ONBOARDING)
    assert allowed(policy, ALICE, "processdefinition", Operation.QUERY)
    assert policy.readable(ALICE, "processdefinition", [SECRET, ONBOARDING]) == [ONBOARDING]
    assert policy.readable(BOB, "processdefinition", [SECRET, ONBOARDING]) == []
    assert policy.readable(ADMIN, "processdefinition", [SECRET, ONBOARDING]) == [SECRET, ONBOARDING]
    for op in (
        Operation.DELETE,
        Operation.UPDATE,
        Operation.CREATE,
        Operation.PATCH,
        Operation.ACTION,
    ):
        assert not allowed(policy, ALICE, "processdefinition", op, "read", ONBOARDING)


def test_task_definitions_of_startable_definitions(policy):
    for op in (Operation.READ, Operation.QUERY):
        assert allowed(policy, ALICE, "processdefinition/taskdefinition", op, context=ONBOARDING)
        assert not allowed(policy, ALICE, "processdefinition/taskdefinition", op, context=SECRET)
        assert not allowed(policy, BOB, "processdefinition/taskdefinition", op, context=ONBOARDING)


def test_default_access_lets_every_authorized_user_start_and_read(policy):
    open_policy = default_policy(ProcessAccess.default())
    assert open_policy.permits(BOB, "processinstance", Operation.CREATE, context=SECRET)
    assert open_policy.permits(BOB, "processdefinition", Operation.READ, context=SECRET)
    assert not open_policy.permits(ANON, "processinstance", Operation.CREATE, context=SECRET)


@pytest.mark.parametrize(
    "resource",
    [
        "processinstance",
        "processinstance/history",
        "taskinstance/history",
        "execution",
        "job",
        "job/deadletter",
        "model",
    ],
)
def test_everything_else_is_forbidden_for_authorized_users(policy, resource):
    context = {**task("alice", users=["alice"]), **ONBOARDING, "_queryId": "unassignedTaskQuery"}
    for op in ALL_OPS:
        if resource == "processinstance" and op is Operation.CREATE:
            continue
        for action in (None, "complete", "message", "execute", "deploy", "migrate"):
            assert not allowed(policy, ALICE, resource, op, action, context), (resource, op)
            with pytest.raises(Forbidden):
                policy.authorize(ALICE, resource, op, action=action, context=context)


def test_anonymous_gets_nothing(policy):
    context = {
        **task("anonymous", users=["anonymous"], groups=[REG_ROLE]),
        "_id": "x",
        "name": "Contractor onboarding process",
        "_queryId": "unassignedTaskQuery",
    }
    for resource in RESOURCES:
        for op in ALL_OPS:
            assert not allowed(policy, ANON, resource, op, "complete", context)


# --- integration conveniences -----------------------------------------------------------------


def test_operation_of_accepts_values_and_str_enums():
    from chalicelib.crest.enums import RequestType

    assert as_operation("read") is Operation.READ
    assert as_operation(RequestType.ACTION) is Operation.ACTION
    assert all(as_operation(kind) is Operation(kind.value) for kind in RequestType)
    for bad in ("READ", "fetch", None, 3):
        with pytest.raises(ValueError):
            as_operation(bad)


def test_policy_accepts_request_type_operations(policy):
    from chalicelib.crest.enums import RequestType

    assert policy.permits(
        ALICE, "taskinstance", RequestType.ACTION, action="complete", context=task("alice")
    )
    assert not policy.permits(ALICE, "taskinstance", RequestType.DELETE, context=task("alice"))


def test_subject_may_be_carried_under_a_key(policy):
    wrapped = {"ids": {"id": "t1"}, "task": task("alice")}
    assert allowed(policy, ALICE, "taskinstance", Operation.ACTION, "complete", wrapped)
    assert not allowed(policy, BOB, "taskinstance", Operation.READ, context=wrapped)
    assert allowed(
        policy,
        ALICE,
        "processinstance",
        Operation.CREATE,
        context={"ids": {}, "definition": ONBOARDING},
    )
    assert not allowed(
        policy,
        ALICE,
        "processinstance",
        Operation.CREATE,
        context={"ids": {}, "definition": SECRET},
    )


def test_a_context_without_its_subject_is_refused(policy):
    gate = {"ids": {"id": "t1"}, "ctx": object()}  # what a gate knows before loading the item
    for resource, op, action in [
        ("taskinstance", Operation.READ, None),
        ("taskinstance", Operation.UPDATE, None),
        ("taskinstance", Operation.ACTION, "complete"),
        ("taskinstance", Operation.QUERY, None),
        ("processinstance", Operation.CREATE, None),
        ("processdefinition", Operation.READ, None),
    ]:
        assert not allowed(policy, ALICE, resource, op, action, gate), (resource, op)
