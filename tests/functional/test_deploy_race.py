"""Concurrent deploys of one key over moto: the version counter's conditional writes race through
DynamoDB (and the moto lock), and every deploy gets its own version.

Deploy's other behaviour, on the memory store: ``tests/unit/service/definitions/test_deploy.py``.
"""

from __future__ import annotations

import threading

from chalicelib.service.repositories import definitions as repo
from chalicelib.storage.ports import Table
from tests.support.deployments import deploy_simple
from tests.support.rest import simple_bpmn


def test_concurrent_deploys_of_one_key_get_distinct_versions(container):
    """Eight threads deploy different content for one key at once: versions 1..8, no repeats."""
    results, failures = [], []
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        barrier.wait()
        try:
            results.append(
                deploy_simple(
                    container,
                    source=f"thread:{n}",
                    text=simple_bpmn(key="raced", name=f"variant {n}"),
                )
            )
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    versions = sorted(int(r.definition_ids[0].split(":")[1]) for r in results)
    assert versions == list(range(1, 9))
    counter = container.store.get(Table.REPOSITORY, repo.counter_pk("raced"), repo.COUNTER_SK)
    assert counter.version == 8
