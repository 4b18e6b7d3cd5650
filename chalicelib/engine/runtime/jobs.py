"""Async continuations (``bpmn-semantics.md`` §1.5): transaction boundaries as jobs.

- ``flowable:async`` / ``asyncBefore``: the token stops *before* the activity; a
  :class:`~.effects.JobRequested` of kind ``async-continuation`` is emitted. Running the job
  (:func:`run_job`) enters the activity.
- ``flowable:asyncLeave`` / ``asyncAfter``: the activity completes, then the token stops
  before its outgoing flows (kind ``async-after``); running the job takes them.

While parked, the execution carries the job id (``ExecutionRecord.job_id``), so a duplicate
or stale job is refused (:class:`~.errors.UnknownTarget`) instead of running twice. The job
payload is ``{"handler", "exclusive"}``: exclusive jobs (the default) of one instance must
not run concurrently, non-exclusive ones may (the service's job runner decides).
"""

from __future__ import annotations

from chalicelib.engine.elements import FlowNode
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.effects import JobKind, JobRequested
from chalicelib.engine.runtime.errors import UnknownTarget
from chalicelib.engine.runtime.records import ExecutionRecord

__all__ = ["park", "run_job"]


def park(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: FlowNode, kind: JobKind
) -> None:
    """Stop ``execution`` at ``node`` until the requested job runs."""
    from chalicelib.engine.runtime import flow

    job_id = rt.new_child_id(ic.id)
    flow.update(ic, execution, job_id=job_id)
    rt.emit(
        JobRequested(
            ic.id,
            kind.value,
            execution.id,
            node.id,
            None,
            job_id=job_id,
            payload={"handler": kind.value, "exclusive": bool(node.exclusive)},
        )
    )


def run_job(
    rt: Runtime,
    ic: InstanceContext,
    job_id: str,
    execution_id: str,
    activity_id: str | None,
    kind: str,
) -> None:
    """Run an async job: enter the activity (continuation) or take its outgoing flows."""
    from chalicelib.engine.runtime import flow

    execution = ic.execution(execution_id)
    if (
        execution is None
        or execution.job_id != job_id
        or (activity_id is not None and execution.activity_id != activity_id)
    ):
        raise UnknownTarget(
            f"Job {job_id} is not waiting to run (its execution moved on or it ran already)"
        )
    execution = flow.update(ic, execution, job_id=None)
    if kind == JobKind.ASYNC_CONTINUATION.value:
        rt.plan(flow.enter, ic.id, execution.id, True)
    elif kind == JobKind.ASYNC_AFTER.value:
        flow.take_outgoing(rt, ic, execution, ic.node(execution.activity_id))
    else:
        raise UnknownTarget(f"Job kind '{kind}' is not an async continuation")
