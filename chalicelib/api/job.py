"""Routes 6-17: ``job`` and ``job/deadletter``.

Jobs arrive with the events-and-jobs issue; until then every operation answers as CREST does for
an operation a resource does not support.
"""
from chalice import Blueprint

from .resource import CollectionResource, InstanceResource
from .routing import route

__all__ = ["blueprint"]

blueprint = Blueprint(__name__)


class Jobs(CollectionResource):
    name = "job"


class Job(InstanceResource):
    name = "job"


class DeadLetterJobs(CollectionResource):
    name = "job/deadletter"


class DeadLetterJob(InstanceResource):
    name = "job/deadletter"


route(blueprint, "/job", Jobs())
route(blueprint, "/job/deadletter", DeadLetterJobs())
route(blueprint, "/job/{id}", Job())
route(blueprint, "/job/deadletter/{sub}", DeadLetterJob())
