"""Routes 32-42: ``processinstance`` and ``processinstance/history``.

Process instances arrive with the engine issue; until then every operation answers as CREST
does for an operation a resource does not support.
"""
from chalice import Blueprint

from .resource import CollectionResource, InstanceResource
from .routing import route

__all__ = ["blueprint"]

blueprint = Blueprint(__name__)


class ProcessInstances(CollectionResource):
    name = "processinstance"


class ProcessInstance(InstanceResource):
    name = "processinstance"


class ProcessInstanceHistories(CollectionResource):
    name = "processinstance/history"


class ProcessInstanceHistory(InstanceResource):
    name = "processinstance/history"


route(blueprint, "/processinstance", ProcessInstances())
route(blueprint, "/processinstance/history", ProcessInstanceHistories())
route(blueprint, "/processinstance/{id}", ProcessInstance())
route(blueprint, "/processinstance/history/{sub}", ProcessInstanceHistory())
