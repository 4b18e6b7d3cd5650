"""Routes 1-5: ``execution`` (message, signal and trigger actions; execution queries).

The actions and queries arrive with the events issue; until then every operation answers as
CREST does for an operation a resource does not support.
"""
from chalice import Blueprint

from .resource import CollectionResource
from .routing import route

__all__ = ["blueprint"]

blueprint = Blueprint(__name__)


class Executions(CollectionResource):
    name = "execution"


route(blueprint, "/execution", Executions())
