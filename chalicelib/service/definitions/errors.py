"""The error of a deployment that cannot be deployed (raised by deploy and by the start-event
registry, which checks message names and timer values at deploy time)."""

from __future__ import annotations

from ...errors import BadRequest

__all__ = ["InvalidDeployment"]


class InvalidDeployment(BadRequest):
    """The BPMN cannot be deployed: ``detail`` is ``{errors, warnings}`` as ``validate_bpmn``."""
