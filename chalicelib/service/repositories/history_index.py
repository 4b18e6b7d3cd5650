"""The historic process instances' read model: listed variables, lookup items and counts.

A historic process item (``#process``, ``repositories.history``) carries ``listed_variables``
like a running header: the instance-scope variables history keeps (history level ``activity``
and up; ``{}`` below it) when their JSON fits 4 KB
(``instances.listed_variables``), so a listing answers ``processVariables`` without a Query per
instance; when they do not fit, it carries their names (``variable_names``, as a header does:
``instances.carried_variables``) and a page reads them by key in one BatchGetItem per 100
(``history.carried_historic_variables``); past 100 names, readers Query them.

Lookup items list the historic instances by state and by the attributes the IDM queries compare
for equality, in the history table's ``lookup-sort`` index (hash ``lookup``, range ``sort`` =
the process item's ``<startTime>#<id>``), one item per index partition the instance is in:

=================  =====================  ==========================================  ===========
partition (``pk``)  sort key (``sk``)      ``lookup``                                  ``ttl``
=================  =====================  ==========================================  ===========
instance id        ``look#state``         ``state=<state>#<n>`` (``n`` = shard of id)   finished:
instance id        ``look#<attr>``        ``<state>/<attr>=<value>`` (``bk``, ``pdk``,   the
                                          ``pdi``, ``su``, ``sup``; ``<attr>#<sha256>``  history
                                          when long, as ``instances.lookup_key``)        TTL
=================  =====================  ==========================================  ===========

``<state>`` is ``unfinished`` or ``finished``. Every instance start and end writes to the state
partition, so it is sharded like the listings (``LIST_SHARDS``); an attribute partition holds
the instances of one value only. The items are **key-only** (``kind`` ``history-lookup``, no
copy of the record): a reader Queries the partition(s) and reads the process items with one
``BatchGetItem`` (``lookup_page``): one request more per page than a copy, but the items are
written only when the instance's lookup keys change (its start, its end, a migration to
another definition), never when its variables change, which rewrite the process item alone.
An unfinished instance's lookup items carry no TTL (its process item may be rewritten later
with a later one); a finished instance's carry the TTL its process item got at the end.

Write cost per historic instance (``commit_writes``, in the command's own transaction; history
items are written without reading them, so what changes is derived from the command): the
start writes the process item, 1 state item and 1 per set attribute (at most 6 lookup items),
plus one counter ``AddCount`` per partition (at most 6); the end rewrites the same lookup items
with the ``finished`` keys (at most 6 Puts) and moves their counts (at most 12 ``AddCount``:
``-1`` unfinished, ``+1`` finished per partition); a commit that changes an instance-scope
variable rewrites the process item only (1 Put, as before); a migration rewrites the ``pdi``
item and moves its count.

Historic tasks (``task#<id>`` items, listed in ``htask``) are counted by one counter
(``task_count``, base ``htask`` of ``kindShard-sort``): the commit that first writes a historic
task adds 1 (``AddCount`` on the counter shard of the instance, in the same transaction; at most
one per instance per commit after ``counters.merged``). A task is new when its id is not among
the instance's runtime tasks as loaded (``CommittedInstance.had_task``): the engine records a
task at its creation, update and end, and only the creation meets a task the collection did
not hold. The history delete subtracts the tasks it deletes.

Each historic task item also carries its state partition in the ``lookup-sort`` index on its own
item (no extra item): ``lookup`` = ``htask-state=<state>#<n>`` (``n`` = shard of the task id;
``<state>`` finished when the record has an ``endTime``), ``sort`` = its ``<createTime>#<id>``
(as the ``htask`` listing). ``taskinstance/history`` ``finished``/``unfinished`` (and
``endTime pr``/``!(endTime pr)`` filters) merge the 8 shards (``task_state_page``), and an
offset on a state alone skips on them (``task_state_skip``); each state is counted (``task_state_count``, base
``htask-state=<state>``): +1 unfinished at the task's creation, -1 unfinished +1 finished at the
commit that ends a task the instance had as loaded (+1 finished for a task created and ended in
one commit), and the history delete subtracts each deleted task from its state. At most 2 more
``AddCount`` per instance per commit that creates or ends tasks (merged per counter shard), in
the same transaction.

Counts (``history_count``): ``repositories.counters`` items of the ``lookup-sort`` partitions
(``state=<state>`` for the sharded state partition), kept by the same transactions, so a count
is exact for what has committed. The total of historic instances is finished + unfinished.
``DELETE processinstance/history/{id}`` decrements what it deletes (``deletion_counts``).
DynamoDB's TTL deletes items without a write of ours, so with ``WORKFLOW_HISTORY_TTL_DAYS`` set
the finished counts go on counting expired instances (``counts_exact`` says when a count
holds). Instances started before this layout are counted and listed once the backfill
(``python -m chalicelib.local.backfill``) has added their lookup items and recounted
(``process_repairs``, ``service/instances/history_backfill.py``).

What a commit knows of the instance's variables is the runtime collection it loaded plus the
variables the command set, so the listed variables follow every set. A variable removed from
the instance scope by a script keeps its historic variable (we never delete one): the read of
one instance (a Query) still shows it, and the process item drops it from ``listed_variables``
or ``variable_names`` at the next commit that rewrites it (Flowable deletes the historic
variable on removal, as the listing then shows).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ...engine.runtime.effects import HistoryKind, HistoryRecord
from ...engine.runtime.history import process_fields
from ...engine.runtime.records import InstanceRecord
from ...storage.aggregate import HEADER_SK, Aggregate
from ...storage.ports import (
    AddCount,
    Delete,
    Index,
    Item,
    ItemStore,
    MustExist,
    MustNotExist,
    Page,
    Put,
    Table,
    Write,
)
from ...storage.sharding import query_partitions, shard_for, shard_key, skip_partitions
from ..container import Services
from . import counters
from .history import (
    HISTORY_SK,
    TASK_LISTING,
    historic_tasks,
    historic_variables,
    history_items,
    history_ttl,
    is_task,
    process_listing,
    task_state_base,
    task_state_key,
)
from .instances import (
    LOOKUP_ATTRIBUTES,
    TASK_PREFIX,
    lookup_key,
    variable_prefix,
    with_carried_variables,
)
from .layout import LIST_SHARDS

__all__ = [
    "FINISHED",
    "UNFINISHED",
    "STATES",
    "HISTORY_LOOKUP_KIND",
    "HISTORY_LOOKUP_FIELDS",
    "CommittedInstance",
    "attribute_key",
    "state_base",
    "state_key",
    "memberships",
    "lookup_item",
    "commit_writes",
    "lookup_page",
    "lookup_skip",
    "lookup_processes",
    "history_count",
    "task_count",
    "task_state_page",
    "task_state_skip",
    "task_state_count",
    "counts_exact",
    "deletion_counts",
    "process_repairs",
    "counted_partitions",
    "recount_writes",
    "instance_task_count",
    "task_recount_writes",
    "task_repairs",
]

FINISHED = "finished"
UNFINISHED = "unfinished"
STATES = (UNFINISHED, FINISHED)
#: ``Item.kind`` of the history table's lookup items (key-only)
HISTORY_LOOKUP_KIND = "history-lookup"
_LOOKUP_PREFIX = "look#"
_STATE_SK = "look#state"
_PROCESS_SK = HISTORY_SK[HistoryKind.PROCESS_INSTANCE]
#: lookup attribute -> the historic process record field it indexes (as ``LOOKUP_ATTRIBUTES``)
HISTORY_LOOKUP_FIELDS = {
    "bk": "businessKey",
    "pdk": "processDefinitionKey",
    "pdi": "processDefinitionId",
    "su": "startUserId",
    "sup": "superProcessInstanceId",
}


def attribute_key(attribute: str, value: str, state: str) -> str:
    """The ``lookup`` of the historic instances in ``state`` whose ``attribute`` is ``value``."""
    return f"{state}/{lookup_key(attribute, value)}"


def state_base(state: str) -> str:
    """The state partition's name (its shards are ``<base>#<n>``; its counter is ``<base>``)."""
    return f"state={state}"


def state_key(state: str, instance_id: str) -> str:
    """The ``lookup`` of an instance's state item (its shard of the state partition)."""
    return shard_key(state_base(state), shard_for(instance_id, LIST_SHARDS))


def memberships(instance_id: str, fields: Mapping[str, Any], finished: bool) -> dict[str, str]:
    """``{lookup item sort key: lookup}`` of a historic instance whose process record has
    ``fields`` (``HISTORY_LOOKUP_FIELDS`` names)."""
    state = FINISHED if finished else UNFINISHED
    found = {_STATE_SK: state_key(state, instance_id)}
    for attribute, name in HISTORY_LOOKUP_FIELDS.items():
        value = fields.get(name)
        if isinstance(value, str):
            found[_LOOKUP_PREFIX + attribute] = attribute_key(attribute, value, state)
    return found


def _counted(sk: str, lookup: str) -> str:
    """The counter base of a lookup item: the partition, the state partition unsharded."""
    return lookup.rpartition("#")[0] if sk == _STATE_SK else lookup


def lookup_item(instance_id: str, sk: str, lookup: str, sort: str, ttl: int | None) -> Item:
    """One key-only lookup item (``ttl``: None unless finished)."""
    return Item(
        instance_id,
        sk,
        HISTORY_LOOKUP_KIND,
        {"id": instance_id},
        {"lookup": lookup, "sort": sort},
        ttl,
    )


def _sort(instance_id: str, fields: Mapping[str, Any]) -> str:
    return f"{fields.get('startTime') or ''}#{instance_id}"


def _count(instance_id: str, sk: str, lookup: str, delta: int) -> AddCount:
    return counters.add(Table.HISTORY, Index.LOOKUP_SORT, _counted(sk, lookup), instance_id, delta)


def _task_count(instance_id: str, delta: int) -> AddCount:
    """A change of the count of historic tasks (the ``htask`` listing's counter)."""
    return counters.add(Table.HISTORY, Index.KIND_SHARD_SORT, TASK_LISTING, instance_id, delta)


def _task_state_count(instance_id: str, finished: bool, delta: int) -> AddCount:
    """A change of the count of a historic task state partition (``task_state_base``)."""
    return counters.add(
        Table.HISTORY, Index.LOOKUP_SORT, task_state_base(finished), instance_id, delta
    )


def _moves(
    instance_id: str,
    sort: str,
    before: Mapping[str, str],
    after: Mapping[str, str],
    ttl: int | None,
) -> tuple[list[Write], list[AddCount]]:
    """The lookup writes and count changes that take an instance from ``before`` to
    ``after`` (``memberships``)."""
    writes: list[Write] = []
    counts: list[AddCount] = []
    for sk, lookup in after.items():
        if before.get(sk) != lookup:
            writes.append(Put(Table.HISTORY, lookup_item(instance_id, sk, lookup, sort, ttl)))
            counts.append(_count(instance_id, sk, lookup, 1))
    for sk, lookup in before.items():
        if after.get(sk) != lookup:
            counts.append(_count(instance_id, sk, lookup, -1))
            if sk not in after:
                writes.append(Delete(Table.HISTORY, instance_id, sk))
    return writes, counts


# --- writes of a command ------------------------------------------------------------------------


@dataclass(frozen=True)
class CommittedInstance:
    """What a commit knows of one changed instance beside its history records."""

    #: the runtime collection as loaded (None: started by this command)
    previous: Aggregate | None
    #: the instance's header after the command
    header: InstanceRecord
    #: whether its history level keeps variables (``activity`` and up)
    keeps_variables: bool

    def loaded_variables(self) -> dict[str, Any]:
        """The instance-scope variables as loaded."""
        if self.previous is None:
            return {}
        prefix = variable_prefix(self.previous.pk)
        return {
            item.data["name"]: item.data.get("value")
            for sk, item in self.previous.items.items()
            if sk.startswith(prefix) and item.data.get("kind")
        }

    def had_task(self, task_id: str) -> bool:
        """Whether the task was among the instance's runtime tasks as loaded: its historic
        task was written (and counted) by the command that created it."""
        return self.previous is not None and TASK_PREFIX + task_id in self.previous.items

    def loaded_memberships(self) -> dict[str, str]:
        """The lookup items the instance had before the command (from its loaded header)."""
        header = self.previous.items.get(HEADER_SK) if self.previous is not None else None
        if header is None:
            return {}
        fields = {
            HISTORY_LOOKUP_FIELDS[attribute]: header.data.get(name)
            for attribute, name in LOOKUP_ATTRIBUTES.items()
        }
        return memberships(header.pk, fields, bool(header.data.get("end_time")))


def commit_writes(
    container: Services,
    effects: Iterable[Any],
    describe: Callable[[str], CommittedInstance | None],
) -> list[Write]:
    """The history writes of a command: its history items (``history.history_items``), the
    historic process item rewritten with its ``listed_variables`` when the command recorded it
    or set an instance-scope variable, and the lookup items and counts of the instances whose
    process record the engine recorded (start, end, migration). ``describe`` tells what the
    commit knows of an instance (None: nothing, then its record is written as recorded)."""
    effects = list(effects)
    recorded: dict[str, Mapping[str, Any]] = {}
    changed: dict[str, dict[str, Any]] = {}
    tasks: dict[str, tuple[str, bool]] = {}
    for effect in effects:
        if not isinstance(effect, HistoryRecord):
            continue
        if effect.kind is HistoryKind.PROCESS_INSTANCE:
            recorded[effect.instance_id] = effect.fields
        elif effect.kind is HistoryKind.TASK_INSTANCE:
            tasks[effect.id] = (effect.instance_id, bool(effect.fields.get("endTime")))
        elif (
            effect.kind is HistoryKind.VARIABLE_INSTANCE
            and effect.fields.get("executionId") == effect.instance_id
        ):
            changed.setdefault(effect.instance_id, {})[effect.fields["name"]] = effect.fields.get(
                "value"
            )
    ttl = history_ttl(container)
    processes: dict[str, dict[str, Any]] = {}
    writes: list[Write] = []
    counts: list[AddCount] = []
    described: dict[str, CommittedInstance | None] = {}

    def known_of(instance_id: str) -> CommittedInstance | None:
        if instance_id not in described:
            described[instance_id] = describe(instance_id)
        return described[instance_id]

    for task_id, (instance_id, ended) in tasks.items():
        # a task the instance did not have as loaded is new: its historic task item too; one
        # it had was unfinished, and moves to finished when the command ends it
        owner = known_of(instance_id)
        if owner is None:
            continue
        if not owner.had_task(task_id):
            counts.append(_task_count(instance_id, 1))
            counts.append(_task_state_count(instance_id, ended, 1))
        elif ended:
            counts.append(_task_state_count(instance_id, False, -1))
            counts.append(_task_state_count(instance_id, True, 1))
    for instance_id in dict.fromkeys([*recorded, *changed]):
        known = known_of(instance_id)
        if known is None:
            continue
        record = recorded.get(instance_id)
        variables: dict[str, Any] = {}
        if known.keeps_variables:
            variables = known.loaded_variables()
            variables.update(changed.get(instance_id, {}))
        data = with_carried_variables(
            record if record is not None else process_fields(known.header), variables
        )
        processes[instance_id] = data
        if record is not None:
            finished = bool(data.get("endTime"))
            more, moved = _moves(
                instance_id,
                _sort(instance_id, data),
                known.loaded_memberships(),
                memberships(instance_id, data, finished),
                ttl if finished else None,
            )
            writes.extend(more)
            counts.extend(moved)
    items = history_items(container, effects, processes)
    return [Put(Table.HISTORY, item) for item in items] + writes + counters.merged(counts)


# --- reads ----------------------------------------------------------------------------------------


def _partitions(attribute: str | None, value: str | None, state: str | None) -> list[str] | None:
    states = (state,) if state is not None else STATES
    if attribute is None or value is None:
        if state is None:
            return None  # every historic instance: the listing
        return [shard_key(state_base(state), n) for n in range(LIST_SHARDS)]
    return [attribute_key(attribute, value, s) for s in states]


def lookup_page(
    store: ItemStore,
    attribute: str | None = None,
    value: str | None = None,
    state: str | None = None,
    *,
    limit: int = 100,
    start: str | None = None,
    descending: bool = False,
) -> Page:
    """One page of the historic process items whose ``attribute`` (``HISTORY_LOOKUP_FIELDS``)
    may equal ``value`` and whose state is ``state`` (None: either), in start order: the
    partition's lookup items (one index Query per partition: 1, 2 for both states, the 8 shards
    for a state alone; eventually consistent), then their process items (one BatchGetItem).
    Neither: the ``hpi`` listing (8 Queries). A long value is keyed by its hash, and an item
    may change state meanwhile: compare again."""
    partitions = _partitions(attribute, value, state)
    if partitions is None:
        return process_listing(store, limit=limit, start=start, descending=descending)
    page = query_partitions(
        store,
        Table.HISTORY,
        Index.LOOKUP_SORT,
        partitions,
        limit=limit,
        start=start,
        descending=descending,
    )
    return lookup_processes(store, page)


def lookup_skip(
    store: ItemStore,
    attribute: str | None,
    value: str | None,
    state: str | None,
    count: int,
    *,
    descending: bool = False,
    then: int = 0,
) -> tuple[str | None, bool, Page | None]:
    """``(token, ended, following)``: where ``lookup_page`` (same arguments, an attribute or
    a state given) continues after its first ``count`` items, found by reading the partitions'
    key-only lookup items alone (no process item): ``ended`` when none remains. One index Query
    per partition (``sharding.skip_partitions``), which also reads the up to ``then`` lookup
    items after them: ``following``, the page ``lookup_page`` would read from ``token`` before
    its process items (``lookup_processes``), so that page costs no Query again."""
    partitions = _partitions(attribute, value, state)
    if partitions is None:
        raise ValueError("the listing has no key-only partition to skip on")
    return skip_partitions(
        store,
        Table.HISTORY,
        Index.LOOKUP_SORT,
        partitions,
        count,
        descending=descending,
        then=then,
    )


def lookup_processes(store: ItemStore, keys: Page) -> Page:
    """The page of historic process items of a page of lookup items (one BatchGetItem; none
    for no items), with its token."""
    if not keys.items:
        return Page([], keys.next_token)
    processes = store.batch_get(Table.HISTORY, [(item.pk, _PROCESS_SK) for item in keys.items])
    return Page(processes, keys.next_token)


def history_count(
    store: ItemStore,
    attribute: str | None = None,
    value: str | None = None,
    state: str | None = None,
) -> int:
    """The number of historic instances ``lookup_page`` lists for the same arguments, from the
    maintained counters (one request: a Query of one state's counter, or one BatchGetItem of
    both states' counters: ``counters.read_total``)."""
    states = (state,) if state is not None else STATES
    if attribute is None or value is None:
        bases = [state_base(s) for s in states]
    else:
        bases = [attribute_key(attribute, value, s) for s in states]
    return counters.read_total(store, Table.HISTORY, Index.LOOKUP_SORT, bases)


def task_count(store: ItemStore) -> int:
    """The number of historic tasks (the ``htask`` listing), from its maintained counter (one
    Query)."""
    return counters.read(store, Table.HISTORY, Index.KIND_SHARD_SORT, TASK_LISTING)


def _task_partitions(finished: bool) -> list[str]:
    return [shard_key(task_state_base(finished), n) for n in range(LIST_SHARDS)]


def task_state_page(
    store: ItemStore,
    finished: bool,
    *,
    limit: int = 100,
    start: str | None = None,
    descending: bool = False,
) -> Page:
    """One page of the historic task items of one state (finished: with an ``endTime``), in
    creation order: the state partition's shards merged (one index Query per shard per page,
    eventually consistent; the task items themselves, no further read)."""
    return query_partitions(
        store,
        Table.HISTORY,
        Index.LOOKUP_SORT,
        _task_partitions(finished),
        limit=limit,
        start=start,
        descending=descending,
    )


def task_state_skip(
    store: ItemStore, finished: bool, count: int, *, descending: bool = False, then: int = 0
) -> tuple[str | None, bool, Page | None]:
    """``(token, ended, following)``: where ``task_state_page`` (same state and order)
    continues after its first ``count`` items (``sharding.skip_partitions``, ``spread``: one
    index Query per shard, asking each for its share of ``count + then`` and a margin, since a
    task's shard is the hash of its id; a second round only when a shard held more than
    that). The state partition's items are the historic task items themselves, so
    ``following`` (the items after the skipped ones) is the page ``task_state_page`` would
    answer from ``token``: whole task items, no further read. A key-only read of the same
    entries would cost the same: the index projects every attribute and DynamoDB meters a
    Query by the entries it reads, not by what a projection expression returns."""
    return skip_partitions(
        store,
        Table.HISTORY,
        Index.LOOKUP_SORT,
        _task_partitions(finished),
        count,
        descending=descending,
        then=then,
        spread=True,
    )


def task_state_count(store: ItemStore, finished: bool) -> int:
    """The number of historic tasks of one state, from its maintained counter (one Query)."""
    return counters.read(store, Table.HISTORY, Index.LOOKUP_SORT, task_state_base(finished))


def counts_exact(container: Services, state: str | None) -> bool:
    """Whether ``history_count`` is exact for ``state``: not when finished instances may have
    expired (``WORKFLOW_HISTORY_TTL_DAYS`` set), which no counter sees."""
    return not container.settings.history_ttl_days or state == UNFINISHED


def deletion_counts(items: Iterable[Item]) -> list[AddCount]:
    """The count changes of deleting ``items`` of a history partition (its lookup items and
    historic tasks): at most 7 counter items."""
    changes: list[AddCount] = []
    for item in items:
        if item.kind == HISTORY_LOOKUP_KIND and "lookup" in item.index:
            changes.append(_count(item.pk, item.sk, item.index["lookup"], -1))
        elif is_task(item):
            changes.append(_task_count(item.pk, -1))
            if "lookup" in item.index:  # its state partition (backfilled when written before)
                base = item.index["lookup"].rpartition("#")[0]
                changes.append(counters.add(Table.HISTORY, Index.LOOKUP_SORT, base, item.pk, -1))
    return counters.merged(changes)


def process_repairs(store: ItemStore, process: Item) -> tuple[list[Write], dict[str, str]]:
    """What brings a historic instance written before this layout to it: ``(writes,
    memberships)``. Reads its instance-scope historic variables and its lookup items (two
    Queries). A finished instance's process item gets its ``listed_variables`` (a running
    one's gets them at its next commit that sets a variable or ends it); missing lookup items
    are added (``MustNotExist``: a concurrent commit wins), a finished instance's stale ones
    replaced. ``memberships``: the partitions it belongs to; the counts are not changed here
    (the backfill recounts every partition it saw: ``recount_writes``)."""
    instance_id = process.pk
    data = process.data
    finished = bool(data.get("endTime"))
    wanted = memberships(instance_id, data, finished)
    stored = {
        item.sk: item
        for item in store.query(Table.HISTORY, instance_id, sk_prefix=_LOOKUP_PREFIX).items
    }
    writes: list[Write] = []
    if finished:
        page = historic_variables(store, instance_id, scope_id=instance_id)
        variables = {item.data["name"]: item.data.get("value") for item in page.items}
        fixed = with_carried_variables(data, variables)
        if fixed != data:
            item = Item(
                process.pk, process.sk, process.kind, fixed, dict(process.index), process.ttl
            )
            writes.append(
                Put(Table.HISTORY, item, MustExist(), replaces_chunks=process.stored_chunks)
            )
    sort = _sort(instance_id, data)
    for sk, lookup in wanted.items():
        old = stored.get(sk)
        if old is not None and old.index.get("lookup") == lookup:
            continue
        if old is not None and not finished:
            continue  # a concurrent commit moved it: the instance is not ours to judge
        new = lookup_item(instance_id, sk, lookup, sort, process.ttl if finished else None)
        writes.append(Put(Table.HISTORY, new, MustNotExist() if old is None else MustExist()))
    for sk in stored:
        if sk not in wanted and finished:
            writes.append(Delete(Table.HISTORY, instance_id, sk, MustExist()))
    return writes, wanted


def counted_partitions(memberships_of: Mapping[str, str]) -> list[str]:
    """The counter bases of an instance's ``memberships`` (for a recount)."""
    return [_counted(sk, lookup) for sk, lookup in memberships_of.items()]


def recount_writes(store: ItemStore, observed: Mapping[str, int]) -> list[AddCount]:
    """The counter writes that make the count of each base in ``observed`` equal to its value
    (one counter Query per base): the backfill's recount, exact when nothing commits
    meanwhile (a start or end during the walk may leave its partitions off by one: run again).
    """
    writes = []
    for base, count in observed.items():
        current = counters.read(store, Table.HISTORY, Index.LOOKUP_SORT, base)
        if current != count:
            writes.append(
                counters.add(Table.HISTORY, Index.LOOKUP_SORT, base, base, count - current)
            )
    return writes


def instance_task_count(store: ItemStore, instance_id: str) -> int:
    """The number of historic tasks of an instance (its ``task#`` items: one Query per page)."""
    found = 0
    token: str | None = None
    while True:
        page = historic_tasks(store, instance_id, start=token)
        found += len(page.items)
        token = page.next_token
        if token is None:
            return found


def task_recount_writes(store: ItemStore, count: int) -> list[AddCount]:
    """The counter write that makes the count of historic tasks ``count`` (one counter Query;
    none when it already is): the backfill's recount, exact when nothing commits meanwhile."""
    current = task_count(store)
    if current == count:
        return []
    return [
        counters.add(
            Table.HISTORY, Index.KIND_SHARD_SORT, TASK_LISTING, TASK_LISTING, count - current
        )
    ]


def task_repairs(store: ItemStore, instance_id: str) -> tuple[list[Write], Counter[str]]:
    """What brings an instance's historic tasks written before their state partition to it:
    ``(writes, found)``. Reads its ``task#`` items (one Query per page); each lacking its
    ``lookup`` (or with a stale one) is rewritten with it (``MustExist``: a deleted history is
    not brought back). ``found``: the number of its tasks per counter base (``htask`` and each
    state partition), for the recount (``recount_writes``, ``task_recount_writes``)."""
    writes: list[Write] = []
    found: Counter[str] = Counter()
    token: str | None = None
    while True:
        page = historic_tasks(store, instance_id, start=token)
        for item in page.items:
            finished = bool(item.data.get("endTime"))
            lookup = task_state_key(item.sk[len("task#") :], finished)
            found[TASK_LISTING] += 1
            found[task_state_base(finished)] += 1
            if item.index.get("lookup") != lookup:
                fixed = replace(item, index={**item.index, "lookup": lookup})
                writes.append(
                    Put(Table.HISTORY, fixed, MustExist(), replaces_chunks=item.stored_chunks)
                )
        token = page.next_token
        if token is None:
            return writes, found
