"""The event registry's start registrations share the ``event-sort`` partition of their event
type with the uncorrelated subscriptions, and a subscription expecting correlation values sits
in the partition of those values (``repositories/event_registry.py``): an inbound event reads
one partition per subset of its values, the subscription readers never see a registration, and
the backfills move registrations and subscriptions of the earlier layouts there, once."""

from __future__ import annotations

import json

import pytest

from chalicelib.engine.elements import EVENT_REGISTRY_PREFIX
from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.definitions.event_start_backfill import move_event_starts
from chalicelib.service.events import inbound
from chalicelib.service.repositories import event_registry as repo
from chalicelib.service.repositories.instance_reads import subscribers
from chalicelib.service.repositories.instances import (
    CORRELATION_MARK,
    SUBSCRIPTION_SORT_LOW,
    correlated_event_key,
    event_key,
    subscription_sort,
)
from chalicelib.storage.ports import Delete, Index, Item, Put, Table
from tests.support.env import REPO

SAMPLE = REPO / "workflow" / "events"

#: a second process that starts on the event the sample's receive task waits for
AUDIT = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="test">
  <process id="approvalAudit" isExecutable="true">
    <startEvent id="approved">
      <extensionElements>
        <flowable:eventType>accountApproved</flowable:eventType>
        <flowable:eventOutParameter source="userName" target="userName"/>
      </extensionElements>
    </startEvent>
    <sequenceFlow id="f" sourceRef="approved" targetRef="review"/>
    <userTask id="review"/>
  </process>
</definitions>"""


@pytest.fixture
def deployed(container):
    """The events sample (starts on contractorHired, then waits for accountApproved) and the
    audit process (starts on accountApproved)."""
    deployments.deploy(
        container,
        source="file:events",
        name="events",
        bpmn={
            "contractorHired.bpmn20.xml": (SAMPLE / "contractorHired.bpmn20.xml").read_text(),
            "approvalAudit.bpmn20.xml": AUDIT,
        },
        resources={
            p.name: p.read_text() for p in SAMPLE.iterdir() if p.suffix in (".event", ".channel")
        },
    )
    return container


def hired(container, user: str, message_id: str) -> inbound.Outcome:
    body = {"eventType": "contractorHired", "userName": user, "mail": "m", "startDate": "d"}
    return inbound.receive(container, container.settings.events_queue, message_id, json.dumps(body))


def approved(container, user: str, message_id: str) -> inbound.Outcome:
    body = {"eventType": "accountApproved", "userName": user, "approvedBy": "boss"}
    return inbound.receive(container, container.settings.events_queue, message_id, json.dumps(body))


def test_registrations_sort_below_every_subscription():
    assert repo.START_SORT_PREFIX < SUBSCRIPTION_SORT_LOW
    for record in ({"created": "2026-12-07T03:00:00.000Z", "id": "s1"}, {"id": "s2"}):
        assert subscription_sort(record) >= SUBSCRIPTION_SORT_LOW


def test_the_lookup_reads_the_starts_and_the_subscriptions_that_may_match(deployed):
    [instance_id] = hired(deployed, "alice", "m-1").started

    starts, waiting = repo.event_lookup(deployed.store, "accountApproved", {"userName": "alice"})

    assert [(s["key"], s["activityId"]) for s in starts] == [("approvalAudit", "approved")]
    assert [w["instance_id"] for w in waiting] == [instance_id]
    starts, waiting = repo.event_lookup(deployed.store, "contractorHired")
    assert [(s["key"], s["activityId"]) for s in starts] == [("contractorHired", "hired")]
    assert waiting == []


def test_an_event_never_reads_subscriptions_expecting_other_values(deployed):
    """The receive task waits for ``accountApproved`` with ``userName`` = the hired user: its
    subscription sits in the partition of that value, not in the event type's."""
    for n, user in enumerate(("alice", "bob", "carol")):
        hired(deployed, user, f"m-{n}")

    starts, waiting = repo.event_lookup(deployed.store, "accountApproved", {"userName": "bob"})

    assert len(starts) == 1
    assert [w["configuration"]["correlation"] for w in waiting] == [{"userName": "bob"}]
    assert repo.event_lookup(deployed.store, "accountApproved", {"userName": "dave"})[1] == []
    assert repo.event_lookup(deployed.store, "accountApproved")[1] == []


def test_the_partitions_are_the_subsets_of_the_correlation_values():
    name = f"{EVENT_REGISTRY_PREFIX}e"
    bare = event_key("message", name)
    assert correlated_event_key("message", name, {}) == bare
    both = correlated_event_key("message", name, {"a": "1", "b": "x"})
    assert both == correlated_event_key("message", name, {"b": "x", "a": 1})  # order, text
    assert both.startswith(bare + CORRELATION_MARK)
    assert both != correlated_event_key("message", name, {"a": "1", "b": "y"})
    assert both != correlated_event_key("message", name, {"a": "1"})
    partitions = repo._partitions(name, {"a": "1", "b": "x"})
    assert partitions == [
        bare,
        correlated_event_key("message", name, {"a": "1"}),
        correlated_event_key("message", name, {"b": "x"}),
        both,
    ]


def test_subscription_readers_never_see_a_registration(deployed):
    [instance_id] = hired(deployed, "alice", "m-1").started
    name = f"{EVENT_REGISTRY_PREFIX}accountApproved"
    mine = correlated_event_key("message", name, {"userName": "alice"})

    page = deployed.store.query_index(Table.RUNTIME, Index.EVENT_SORT, mine)

    assert [item.data["instance_id"] for item in page.items] == [instance_id]
    assert subscribers(deployed.store, "message", name).items == []  # only the registration


def test_an_event_starts_and_correlates_from_the_one_lookup(deployed):
    [waiting] = hired(deployed, "alice", "m-1").started

    outcome = approved(deployed, "alice", "m-2")

    assert len(outcome.started) == 1 and outcome.started[0] != waiting
    assert len(outcome.delivered) == 1
    assert repo.event_lookup(deployed.store, "accountApproved", {"userName": "alice"})[1] == []


def make_old(store) -> int:
    """Move every registration back where the earlier layout wrote it (repository table, no
    index); returns how many."""
    moved = 0
    for key in ("contractorHired", "accountApproved"):
        for data in repo.event_lookup(store, key)[0]:
            pk, sk = repo.event_start_key(key, data["key"], data["activityId"])
            legacy = Item(pk, sk, repo.EVENT_START, data)
            store.transact([Put(Table.REPOSITORY, legacy), Delete(repo.EVENT_START_TABLE, pk, sk)])
            moved += 1
    return moved


def test_the_backfill_moves_registrations_of_the_earlier_layout_once(deployed):
    store = deployed.store
    assert make_old(store) == 2
    assert repo.event_lookup(store, "contractorHired")[0] == []

    assert move_event_starts(store, dry_run=True) == 2
    assert repo.event_lookup(store, "contractorHired")[0] == []
    assert move_event_starts(store) == 2
    assert move_event_starts(store) == 0

    assert repo.legacy_event_start(store, "contractorHired", "contractorHired", "hired") is None
    [start] = repo.event_lookup(store, "contractorHired")[0]
    assert start["definitionId"].startswith("contractorHired:")
    assert len(hired(deployed, "bob", "m-3").started) == 1
    assert len(approved(deployed, "bob", "m-4").started) == 1


def test_the_backfill_moves_a_subscription_of_the_earlier_layout_to_its_values(deployed):
    """A correlated subscription written before the digest sits in the event type's partition:
    the event still finds it there (its values compare as before); the instance backfill
    moves it to its values' partition in one transaction, once."""
    from chalicelib.service.instances.backfill import BackfillReport, backfill_instance

    store = deployed.store
    [instance_id] = hired(deployed, "alice", "m-1").started
    [item] = [
        i
        for i in store.query(Table.RUNTIME, instance_id, sk_prefix="sub#").items
        if i.data.get("event_name")
    ]
    bare = event_key("message", f"{EVENT_REGISTRY_PREFIX}accountApproved")
    old = Item(item.pk, item.sk, item.kind, item.data, index={**item.index, "event": bare})
    store.transact([Put(Table.RUNTIME, old)])
    legacy = subscribers(store, "message", item.data["event_name"]).items
    assert [i.data["instance_id"] for i in legacy] == [instance_id]

    report = BackfillReport()
    backfill_instance(store, instance_id, report)
    assert report.updated == 1
    assert subscribers(store, "message", item.data["event_name"]).items == []
    again = BackfillReport()
    backfill_instance(store, instance_id, again)
    assert again.current == 1 and again.updated == 0
    assert len(approved(deployed, "alice", "m-2").delivered) == 1
