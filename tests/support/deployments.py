"""Deploying the simple one-task process in the service (``service/definitions/deploy``)."""

from __future__ import annotations

from chalicelib.service.definitions import deploy as deployments
from tests.support.rest import simple_bpmn


def deploy_simple(container, key="alpha", source="test", text=None, resources=None):
    """Deploy ``text`` (default: the simple process of ``key``) as ``<key>.bpmn20.xml``."""
    return deployments.deploy(
        container,
        source=source,
        name=f"{key}.bpmn20.xml",
        bpmn={f"{key}.bpmn20.xml": text or simple_bpmn(key=key)},
        resources=resources or {},
    )
