"""What the event handlers in ``app.py`` call: decode, then hand over to a service."""

from __future__ import annotations

from typing import Any

__all__ = ["on_job_message", "on_event_message", "sweep_due_jobs"]


def on_job_message(event: dict) -> dict:
    """The jobs-queue handler: run each record's job; report the records that failed."""
    from ..bootstrap import get_container
    from ..observability import configure_logging
    from ..service.jobs.actions import run_job
    from . import jobs as decoding

    container = get_container()
    configure_logging(container.settings.log_level)
    return decoding.handle_batch(
        event.get("Records") or [], lambda job_id: run_job(container, job_id)
    )


def on_event_message(event: dict) -> dict:
    """The inbound events handler: start or correlate per record; report the failed ones."""
    from ..bootstrap import get_container
    from ..observability import configure_logging
    from ..service.events.inbound import receive
    from . import events as decoding

    container = get_container()
    configure_logging(container.settings.log_level)
    return decoding.handle_batch(
        event.get("Records") or [],
        container.settings.events_queue,
        lambda queue, message_id, body, attributes: receive(
            container, queue, message_id, body, attributes
        ).describe(),
    )


def sweep_due_jobs() -> dict[str, Any]:
    """The scheduled sweep: enqueue due and soon-due jobs."""
    from ..bootstrap import get_container
    from ..observability import configure_logging
    from ..service.jobs.sweep import sweep

    container = get_container()
    configure_logging(container.settings.log_level)
    return sweep(container)
