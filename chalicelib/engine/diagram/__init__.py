"""Process diagrams as PNG, from a definition's BPMN diagram interchange (no AWS, no I/O).

:mod:`.render` draws the shapes, flows and labels (and encodes the PNG with ``pypng``,
imported on first use); :mod:`.font` is the 5x7 bitmap font of the labels.
"""

from .render import (
    MARGIN,
    MAX_SIZE,
    PALETTE,
    TEXT_PADDING,
    element_kinds,
    element_names,
    render,
    render_definition,
)

__all__ = [
    "render_definition",
    "render",
    "element_kinds",
    "element_names",
    "MAX_SIZE",
    "MARGIN",
    "PALETTE",
    "TEXT_PADDING",
]
