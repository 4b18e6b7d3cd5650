"""Routes 43-53: ``taskinstance`` and ``taskinstance/history``.

Task instances arrive with the engine issue; until then every operation answers as CREST does
for an operation a resource does not support.
"""
from chalice import Blueprint

from .resource import CollectionResource, InstanceResource
from .routing import route

__all__ = ["blueprint"]

blueprint = Blueprint(__name__)


class TaskInstances(CollectionResource):
    name = "taskinstance"


class TaskInstance(InstanceResource):
    name = "taskinstance"


class TaskInstanceHistories(CollectionResource):
    name = "taskinstance/history"


class TaskInstanceHistory(InstanceResource):
    name = "taskinstance/history"


route(blueprint, "/taskinstance", TaskInstances())
route(blueprint, "/taskinstance/history", TaskInstanceHistories())
route(blueprint, "/taskinstance/{id}", TaskInstance())
route(blueprint, "/taskinstance/history/{sub}", TaskInstanceHistory())
