"""Reading the instance-scope variables that headers and historic process items carry.

A running instance's header and a historic process item carry their instance-scope variables
(``instances.carried_variables``): the values when they fit (``listed_variables``), else the
names (``variable_names``). ``read_carried`` answers a whole page of such items at once: the
listed ones without a read, the named ones by key in one BatchGetItem per 100 variables, and
(``alone``) the rest with one Query each; only an instance with more than
``instances.VARIABLE_NAMES_MAX`` variables is a rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ...storage.ports import ItemStore, Page, Table
from .instances import HIDDEN_VARIABLES, LISTED_VARIABLES, VARIABLE_NAMES

__all__ = ["read_carried", "visible"]


def read_carried(
    store: ItemStore,
    table: Table,
    carriers: Iterable[Mapping[str, Any]],
    *,
    sort_key: Callable[[str, str], str],
    query: Callable[[str], Page] | None,
) -> dict[str, dict[str, Any]]:
    """The visible instance-scope variables of each carrier (a header's or historic process
    item's data, with its instance ``id``), by instance id, in name order where read.

    ``sort_key(instance id, name)``: the sort key of one variable item of ``table``.
    ``query(instance id)``: the Query of an instance's variable items, for a carrier with
    neither values nor names; None leaves such carriers out of the answer (read them later).
    A named variable gone since the carrier was written is left out.
    """
    found: dict[str, dict[str, Any]] = {}
    keys: list[tuple[str, str]] = []
    rest: list[str] = []
    for data in carriers:
        instance_id = data["id"]
        listed, names = data.get(LISTED_VARIABLES), data.get(VARIABLE_NAMES)
        if isinstance(listed, dict):
            found[instance_id] = visible(listed.items())
        elif isinstance(names, list):
            found[instance_id] = {}
            keys.extend((instance_id, sort_key(instance_id, name)) for name in names)
        else:
            rest.append(instance_id)
    for item in store.batch_get(table, keys) if keys else ():
        name = item.data["name"]
        if name not in HIDDEN_VARIABLES:
            found[item.pk][name] = item.data.get("value")
    if query is not None:
        for instance_id in dict.fromkeys(rest):
            found[instance_id] = visible(
                (item.data["name"], item.data.get("value")) for item in query(instance_id).items
            )
    return found


def visible(variables: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """``(name, value)`` pairs as a dict, without the ``HIDDEN_VARIABLES`` no route shows."""
    return {name: value for name, value in variables if name not in HIDDEN_VARIABLES}
