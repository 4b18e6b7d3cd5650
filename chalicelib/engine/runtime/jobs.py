"""Async continuations (``bpmn-semantics.md`` §1.5): transaction boundaries as jobs.

- ``flowable:async`` / ``asyncBefore``: the token stops *before* the activity; a
  :class:`~.effects.JobRequested` of kind ``async-continuation`` is emitted. Running the job
  (:func:`~.event_commands.run_job`) enters the activity.
- ``flowable:asyncLeave`` / ``asyncAfter``: the activity's work is done, then the token
  stops before leaving it (kind ``async-after``); running the job runs the activity's end
  listeners, ends its history and takes its outgoing flows (``flow.resume_leave``).

While parked, the execution carries the job id (``ExecutionRecord.job_id``), so a duplicate
or stale job is refused (:class:`~.errors.UnknownTarget`) instead of running twice. The job
payload is ``{"handler", "exclusive"}``: exclusive jobs (the default) of one instance must
not run concurrently, non-exclusive ones may (the service's job runner decides).
"""

from __future__ import annotations

from chalicelib.engine.elements import FlowNode
from chalicelib.engine.runtime.context import InstanceContext, Runtime
from chalicelib.engine.runtime.effects import JobKind, JobRequested
from chalicelib.engine.runtime.records import ExecutionRecord, evolve

__all__ = ["park"]


def park(
    rt: Runtime, ic: InstanceContext, execution: ExecutionRecord, node: FlowNode, kind: JobKind
) -> None:
    """Stop ``execution`` at ``node`` until the requested job runs."""
    job_id = rt.new_child_id(ic.id)
    ic.state.put(evolve(execution, job_id=job_id))
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
