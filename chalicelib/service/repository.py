"""Reading the repository table: models, deployments and process definitions.

Each kind of repository item is listed through the sparse ``kind-sort`` index (partition =
the kind, range = a sort key chosen by the writer), so a listing never scans the table.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ..storage.ports import Index, Item, ItemStore, Table

__all__ = ["Kind", "listing", "MODEL", "PROCESS_DEFINITION", "DEPLOYMENT"]

MODEL = "model"
PROCESS_DEFINITION = "procdef"
DEPLOYMENT = "deployment"
Kind = str


def listing(store: ItemStore, kind: Kind,
            shape: Callable[[Item], dict[str, Any]]) -> Callable[[Any, int],
                                                                 "tuple[Sequence[dict], Any]"]:
    """A ``QuerySource.fetch`` over every repository item of ``kind``, in sort-key order."""

    def fetch(token: Any, limit: int) -> "tuple[list[dict], Any]":
        page = store.query_index(Table.REPOSITORY, Index.KIND_SORT, kind, limit=max(limit, 1),
                                 start=token)
        return [shape(item) for item in page.items], page.next_token

    return fetch
