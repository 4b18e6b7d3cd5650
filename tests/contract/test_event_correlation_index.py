"""Event-registry subscriptions in the runtime table's ``event-sort`` index: uncorrelated ones in
the event's bare partition, correlated ones in ``message#eventRegistry:<key>|c=<digest>``, read
by ``event_registry.event_lookup`` as an inbound event does, on both stores."""

from __future__ import annotations

from chalicelib import ids
from chalicelib.engine.elements import EVENT_REGISTRY_PREFIX
from chalicelib.engine.runtime.records import (
    ExecutionRecord,
    InstanceRecord,
    SubscriptionRecord,
    SubscriptionType,
)
from chalicelib.engine.runtime.state import InstanceState
from chalicelib.service.repositories.event_registry import (
    EVENT_START_TABLE,
    event_lookup,
    event_start_item,
)
from chalicelib.service.repositories.instances import (
    CORRELATION_MARK,
    changed_items,
    correlated_event_key,
    event_key,
    state_of,
)
from chalicelib.storage.aggregate import AggregateStore
from chalicelib.storage.ports import Index, Put, Table

KEY = "order"
NAME = f"{EVENT_REGISTRY_PREFIX}{KEY}"


def commit(aggregates: AggregateStore, state: InstanceState, version: int, previous=None) -> int:
    puts, deletes = changed_items(state.changes(), previous)
    new_version = aggregates.commit(state.id, version, puts, deletes, previous=previous)
    state.mark_clean()
    return new_version


def subscribed(store, second: int, correlation: dict[str, str] | None = None) -> str:
    """A running instance whose execution waits for the ``order`` event (with the correlation
    values ``correlation``, as the engine evaluated them); its subscription id."""
    instance = ids.new_id()
    state = InstanceState(
        InstanceRecord(
            id=instance,
            definition_id="p:1:d",
            definition_key="p",
            start_time="2026-11-27T10:00:00.000Z",
        )
    )
    state.put(ExecutionRecord(id=instance, instance_id=instance, activity_id="wait"))
    configuration = {"eventType": KEY, "outParameters": []}
    if correlation is not None:
        configuration["correlation"] = correlation
    subscription = SubscriptionRecord(
        id=ids.child_id(instance),
        instance_id=instance,
        type=SubscriptionType.MESSAGE,
        execution_id=instance,
        activity_id="wait",
        event_name=NAME,
        created=f"2026-11-27T10:00:{second:02d}.000Z",
        configuration=configuration,
    )
    state.put(subscription)
    commit(AggregateStore(store), state, 0)
    return subscription.id


def unsubscribed(store, subscription_id: str) -> None:
    """The commit that removes the subscription (its event delivered, or the instance ended)."""
    aggregates = AggregateStore(store)
    loaded = aggregates.load(ids.instance_of(subscription_id) or subscription_id)
    state = state_of(loaded)
    state.remove(state.subscriptions[subscription_id])
    commit(aggregates, state, loaded.version, previous=loaded)


def waiting(store, correlation: dict | None = None) -> list[str]:
    """The subscriptions an ``order`` event with ``correlation`` reads, in the order read."""
    return [s["id"] for s in event_lookup(store, KEY, correlation)[1]]


def partition(store, key: str) -> list[str]:
    return [
        item.data["id"] for item in store.query_index(Table.RUNTIME, Index.EVENT_SORT, key).items
    ]


def test_an_uncorrelated_subscription_is_in_the_bare_partition_a_correlated_one_in_its_own(store):
    bare = subscribed(store, 1)
    seven = subscribed(store, 2, {"orderId": "7"})
    empty = subscribed(store, 3, {})  # no correlation values: the bare partition too
    assert partition(store, event_key("message", NAME)) == [bare, empty]
    keyed = correlated_event_key("message", NAME, {"orderId": "7"})
    assert keyed.startswith(f"message#{NAME}{CORRELATION_MARK}")
    assert partition(store, keyed) == [seven]
    # an event without correlation values reads the bare partition only
    assert waiting(store) == [bare, empty]
    assert waiting(store, {"orderId": "7"}) == [bare, empty, seven]


def test_a_correlated_subscription_is_found_by_a_superset_and_not_by_another_value(store):
    bare = subscribed(store, 1)
    seven = subscribed(store, 2, {"orderId": "7"})
    later = subscribed(store, 3, {"orderId": "7"})
    both = subscribed(store, 4, {"orderId": "7", "customer": "acme"})
    eight = subscribed(store, 5, {"orderId": "8"})
    # the event's own partition, then one per subset of its values: {customer}, {orderId}, both;
    # within a partition in subscription order
    superset = {"orderId": "7", "customer": "acme", "channel": "web"}
    assert waiting(store, superset) == [bare, seven, later, both]
    assert waiting(store, {"orderId": "7"}) == [bare, seven, later]
    assert waiting(store, {"orderId": "8", "customer": "acme"}) == [bare, eight]
    assert waiting(store, {"orderId": "9", "customer": "acme"}) == [bare]
    assert waiting(store, {"customer": "acme"}) == [bare]
    # values compare as text: an event's number finds the subscription that expects its text
    assert waiting(store, {"orderId": 7}) == [bare, seven, later]


def test_a_removed_subscription_leaves_its_correlated_partition(store):
    seven = subscribed(store, 1, {"orderId": "7"})
    later = subscribed(store, 2, {"orderId": "7"})
    bare = subscribed(store, 3)
    unsubscribed(store, seven)
    assert waiting(store, {"orderId": "7"}) == [bare, later]
    unsubscribed(store, later)
    assert partition(store, correlated_event_key("message", NAME, {"orderId": "7"})) == []
    unsubscribed(store, bare)
    assert waiting(store, {"orderId": "7"}) == []


def test_start_registrations_are_read_from_the_bare_partition_by_every_event(store):
    data = {"definitionId": "p:1:d", "eventType": KEY, "correlation": [["orderId", "7"]]}
    store.transact([Put(EVENT_START_TABLE, event_start_item(KEY, "p", "start", data))])
    seven = subscribed(store, 1, {"orderId": "7"})
    for correlation in (None, {"orderId": "7"}, {"orderId": "8"}):
        starts, _ = event_lookup(store, KEY, correlation)
        assert [(s["key"], s["activityId"]) for s in starts] == [("p", "start")]
    starts, subscriptions = event_lookup(store, KEY, {"orderId": "7"})
    assert [s["id"] for s in subscriptions] == [seven]
    assert event_lookup(store, "other", {"orderId": "7"}) == ([], [])
