"""State as records: JSON round trip, change sets, undo, schema version."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib.engine.runtime import (
    SCHEMA_VERSION,
    ExecutionRecord,
    InstanceRecord,
    InstanceState,
    TaskRecord,
    VariableRecord,
    dumps,
    loads,
)
from chalicelib.engine.runtime.records import SubscriptionRecord, SubscriptionType


def _state() -> InstanceState:
    state = InstanceState(InstanceRecord(id="i1", definition_id="p:1:d", definition_key="p"))
    state.put(ExecutionRecord(id="i1", instance_id="i1", is_scope=True))
    state.put(ExecutionRecord(id="e1", instance_id="i1", parent_id="i1", activity_id="task"))
    state.put(VariableRecord(scope_id="i1", name="big", value={"list": list(range(50))}))
    state.put(
        TaskRecord(
            id="i1.t",
            instance_id="i1",
            execution_id="e1",
            definition_id="p:1:d",
            task_definition_key="task",
            candidate_groups=("a", "b"),
        )
    )
    state.put(
        SubscriptionRecord(
            id="s1",
            instance_id="i1",
            type=SubscriptionType.TRIGGER,
            execution_id="e1",
            activity_id="task",
        )
    )
    return state


def test_round_trip_through_json_text_keeps_every_record():
    state = _state()
    text = dumps(state)
    again = loads(text)
    assert dumps(again) == text
    assert again.tasks["i1.t"].candidate_groups == ("a", "b")
    assert again.subscriptions["s1"].type is SubscriptionType.TRIGGER
    assert [e.id for e in again.children("i1")] == ["e1"]
    assert again.executions_at("i1", "task")[0].id == "e1"


def test_records_carry_schema_version_and_kind():
    records = _state().to_records()
    assert records[0]["kind"] == "instance" and records[0]["schema_version"] == SCHEMA_VERSION
    assert {r["kind"] for r in records} == {
        "instance",
        "execution",
        "variable",
        "task",
        "subscription",
    }
    json.dumps(records)  # JSON-able


def test_newer_schema_is_refused():
    records = _state().to_records()
    records[0]["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="newer"):
        InstanceState.from_records(records)


def test_change_set_holds_only_what_changed():
    state = loads(dumps(_state()))
    assert state.changes().is_empty
    state.put(VariableRecord(scope_id="i1", name="x", value=1))
    state.remove(state.tasks["i1.t"])
    changes = state.changes()
    assert [p["kind"] for p in changes.puts] == ["variable"]
    assert changes.deletes == (("task", "i1.t"),)
    state.mark_clean()
    assert state.changes().is_empty


def test_created_then_removed_is_not_written_at_all():
    state = loads(dumps(_state()))
    record = VariableRecord(scope_id="e1", name="tmp", value=1)
    state.put(record)
    state.remove(record)
    assert state.changes().is_empty


def test_rollback_restores_records_indexes_and_change_set():
    state = loads(dumps(_state()))
    before = dumps(state)
    state.begin()
    state.put(ExecutionRecord(id="e2", instance_id="i1", parent_id="i1", activity_id="task"))
    state.put(replace(state.executions["e1"], activity_id="other"))
    state.remove(state.tasks["i1.t"])
    state.rollback()
    assert dumps(state) == before
    assert state.changes().is_empty
    assert state.count_at("i1", "task") == 1 and state.count_at("i1", "other") == 0
