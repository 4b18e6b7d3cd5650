"""Deploy and definition reads under moto: DynamoDB requests and time per operation.

Figures: deploy (a new version; a duplicate), definition read through the HTTP handler cold
(first load: one Query of the deployment, parse) and cached, and definition queries (all, and
``key eq`` served by the index range). Run with ``make bench``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("BENCH_DEPLOY_ROUNDS", "20"))
from bench.support import ENV, moto_container  # noqa: E402  (the shared bench environment)

ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin"}


def _measure(label: str, action: Callable[[int], object], rounds: int = ROUNDS) -> dict:
    from chalicelib import aws

    times, requests = [], []
    for n in range(rounds):
        with aws.counting() as counter:
            started = time.perf_counter()
            action(n)
            times.append((time.perf_counter() - started) * 1000)
        requests.append(counter.total("dynamodb"))
    figure = {"ms": statistics.median(times), "requests": statistics.median(requests)}
    print(f"  {label:<44} {figure['ms']:8.2f} ms   {figure['requests']:5.1f} DynamoDB requests")
    return figure


def main() -> dict:
    os.environ.update(ENV)
    sys.path.insert(0, str(REPO))
    from chalice.test import Client

    from chalicelib.service.definitions import cache as definitions
    from chalicelib.service.definitions import deploy as deployments

    sample = (REPO / "workflow" / "accessRequest.bpmn20.xml").read_text()
    form = (REPO / "workflow" / "accessRequestForm.js").read_text()
    figures = {}
    with moto_container() as container:
        import app as application

        def deploy(n: int, source: str = "bench") -> deployments.DeployResult:
            text = sample.replace("Access request process", f"Access request {n}")
            return deployments.deploy(
                container,
                source=source,
                name="accessRequest.bpmn20.xml",
                bpmn={"accessRequest.bpmn20.xml": text},
                resources={"accessRequestForm.js": form},
            )

        print(f"== deploy and definitions under moto, median of {ROUNDS} ==")
        ids: list[str] = []
        figures["deploy"] = _measure(
            "deploy (new version)", lambda n: ids.extend(deploy(n).definition_ids)
        )
        figures["duplicate"] = _measure(
            "deploy (duplicate of the latest)", lambda n: deploy(ROUNDS - 1)
        )
        with Client(application.app, stage_name="local") as client:

            def read(definition_id: str) -> None:
                response = client.http.get(
                    f"/openidm/workflow/processdefinition/{definition_id}", headers=ADMIN
                )
                assert response.status_code == 200, response.body

            def cold(n: int) -> None:
                definitions.forget(container, [ids[n]])
                read(ids[n])

            figures["read_cold"] = _measure("definition read over HTTP (cold)", cold)
            figures["read_cached"] = _measure(
                "definition read over HTTP (cached)", lambda n: read(ids[n])
            )

            def query(params: str) -> Callable[[int], None]:
                def run(n: int) -> None:
                    response = client.http.get(
                        f"/openidm/workflow/processdefinition?{params}", headers=ADMIN
                    )
                    assert json.loads(response.body)["resultCount"] >= 1

                return run

            figures["query_all"] = _measure(
                f"query all ({ROUNDS} definitions)", query("_queryFilter=true")
            )
            figures["query_key"] = _measure(
                "query key eq (index range)",
                query('_queryFilter=key+eq+"accessRequest"+and+version+eq+3'),
            )
    return figures


if __name__ == "__main__":
    main()
