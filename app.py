"""The Chalice application: routes, the jobs-queue and events-queue handlers, the timer sweep.

This module only creates the app and registers blueprints, workers and middleware; the work is
done in ``chalicelib``.
"""

from chalice import Chalice, Rate

from chalicelib.api import (
    descriptor,
    execution,
    job,
    model,
    notfound,
    processdefinition,
    processinstance,
    taskinstance,
)
from chalicelib.api.http import envelope_middleware
from chalicelib.settings import events_queue_name, jobs_queue_name
from chalicelib.workers import entry

app = Chalice(app_name="workflow")
app.register_middleware(envelope_middleware, "http")
# XML bodies reach the app as the caller's bytes (API Gateway passes other text as UTF-8), so
# validate_bpmn decodes them by their declared charset (ISO-8859-1, UTF-16, ...)
app.api.binary_types.extend(["application/xml", "text/xml"])

for family in (descriptor, execution, job, model, processdefinition, processinstance, taskinstance):
    app.register_blueprint(family.blueprint)
app.register_blueprint(notfound.build_blueprint())  # last: catch-alls for unknown paths


@app.on_sqs_message(queue=jobs_queue_name(), batch_size=10)
def on_job_message(event):
    """Run the jobs named by a batch of jobs-queue messages (partial batch response)."""
    return entry.on_job_message(event.to_dict())


@app.on_sqs_message(queue=events_queue_name(), batch_size=10)
def on_event_message(event):
    """Start or correlate the event-registry events of a batch of inbound messages."""
    return entry.on_event_message(event.to_dict())


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep_due_jobs(event):
    """Enqueue the jobs due soon (timers) and those whose wake-up message was lost."""
    return entry.sweep_due_jobs()
