"""Render a process diagram as PNG from its BPMN diagram interchange (no AWS, no I/O).

What Flowable's ``ProcessDiagramGenerator`` draws, in a small pure-Python form: a white canvas
the size of the DI bounds plus a margin; tasks and sub-processes as rectangles, events as
circles (end events thicker, intermediate and boundary events doubled), gateways as diamonds
with their marker, sequence flows as polylines ending in an arrow head, and the ``active``
activities outlined in thick red. Element names are drawn as labels in a 5x7 bitmap font
(:mod:`.font`): task and collapsed sub-process names word-wrapped and centred inside their
box (lines that do not fit cut, the last one ending in an ellipsis), expanded sub-process names
at the top of the box, event and gateway names in their DI label bounds or else centred below
the shape, and sequence flow names in their DI label bounds (none without them).

The canvas is a list of palette-index rows (``bytearray``); every primitive fills horizontal
spans, clipped to the canvas. The image is scaled down to fit ``MAX_SIZE`` so that hostile DI
(huge or far-apart bounds) cannot make it large; non-finite coordinates are ignored. PNG
encoding uses ``pypng``, imported on first use.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence

from ..elements import (
    Activity,
    BoundaryEvent,
    ComplexGateway,
    EndEvent,
    EventBasedGateway,
    ExclusiveGateway,
    FlowNode,
    InclusiveGateway,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    ParallelGateway,
    StartEvent,
)
from ..model import Bounds, Definitions, Diagram, SequenceFlow
from .font import ADVANCE, ELLIPSIS, GLYPH_HEIGHT, LINE_HEIGHT, spans, text_width

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

#: largest width and height of an image, in pixels
MAX_SIZE = 4000
#: blank border around the DI bounds, in pixels
MARGIN = 10
WHITE, BLACK, RED = 0, 1, 2
PALETTE = ((255, 255, 255), (0, 0, 0), (255, 0, 0))
HIGHLIGHT_WIDTH = 3
_ARROW_LENGTH, _ARROW_HALF_WIDTH = 10.0, 4.0
#: blank pixels between a box's outer edge and the text inside it
TEXT_PADDING = 4
#: width (pixels) external labels (events, gateways, flows) wrap to, and their most lines
_LABEL_WRAP, _LABEL_LINES = 100, 4
#: gap between an event or gateway and the label drawn below it
_LABEL_GAP = 3
#: longest name considered (longer names never fit anyway)
_MAX_NAME = 2000
_OUTSIDE_LABEL_KINDS = frozenset(
    (
        "start",
        "end",
        "intermediate",
        "exclusive",
        "parallel",
        "inclusive",
        "event-gateway",
        "complex",
    )
)


def element_kinds(definitions: Definitions) -> dict[str, str]:
    """``element id -> kind`` for every flow node of every process of the document."""
    kinds: dict[str, str] = {}
    for process in definitions.processes.values():
        for node in process.elements.values():
            kinds[node.id] = _kind(node)
    return kinds


def element_names(definitions: Definitions) -> dict[str, str]:
    """``element id -> name`` for every named flow node and sequence flow of the document."""
    names: dict[str, str] = {}
    for process in definitions.processes.values():
        items: list[FlowNode | SequenceFlow] = [*process.elements.values()]
        items.extend(process.flows.values())
        for item in items:
            name = getattr(item, "name", None)
            if isinstance(name, str) and name.strip():
                names[item.id] = name
    return names


def _kind(node: object) -> str:
    if isinstance(node, StartEvent):
        return "start"
    if isinstance(node, EndEvent):
        return "end"
    if isinstance(node, (IntermediateCatchEvent, IntermediateThrowEvent, BoundaryEvent)):
        return "intermediate"
    for kind, types in (
        ("exclusive", ExclusiveGateway),
        ("parallel", ParallelGateway),
        ("inclusive", InclusiveGateway),
        ("event-gateway", EventBasedGateway),
        ("complex", ComplexGateway),
    ):
        if isinstance(node, types):
            return kind
    return "task" if isinstance(node, Activity) else "box"


def render_definition(
    definitions: Definitions, process_key: str | None = None, active: Iterable[str] = ()
) -> bytes | None:
    """The PNG of ``process_key``'s diagram (shapes of other processes left out), with the
    ``active`` activity ids highlighted; None when the document has no diagram interchange."""
    diagram = definitions.diagram
    if diagram.is_empty:
        return None
    foreign: set[str] = set()
    if process_key is not None:
        for key, process in definitions.processes.items():
            if key != process_key:
                foreign.update(process.elements)
                foreign.update(process.flows)
    return render(
        diagram,
        element_kinds(definitions),
        active,
        exclude=foreign,
        names=element_names(definitions),
    )


def render(
    diagram: Diagram,
    kinds: Mapping[str, str],
    active: Iterable[str] = (),
    exclude: Iterable[str] = (),
    names: Mapping[str, str] | None = None,
) -> bytes | None:
    """The PNG of ``diagram`` (``kinds`` as ``element_kinds`` gives them, element ``names`` as
    ``element_names`` gives them); None without any drawable shape or edge."""
    skip = set(exclude)
    names = names or {}
    shapes = [
        (element, shape.bounds)
        for element, shape in diagram.shapes.items()
        if element not in skip and shape.bounds is not None and _finite_bounds(shape.bounds)
    ]
    edge_items = [
        (element, [p for p in edge.waypoints if _finite(*p)])
        for element, edge in diagram.edges.items()
        if element not in skip
    ]
    edge_items = [(element, points) for element, points in edge_items if len(points) >= 2]
    edges = [points for _, points in edge_items]
    xs = [v for _, b in shapes for v in (b.x, b.x + b.width)] + [x for e in edges for x, _ in e]
    ys = [v for _, b in shapes for v in (b.y, b.y + b.height)] + [y for e in edges for _, y in e]
    if not xs:
        return None
    labels = _plan_labels(diagram, kinds, names, shapes, edge_items)
    for label in labels:
        if label[0] == "outside":  # the label's area at scale 1 counts in the image's extent
            _, lines, cx, top = label
            half = max(text_width(line) for line in lines) / 2
            xs += [cx - half, cx + half]
            ys += [top, top + len(lines) * LINE_HEIGHT]
    min_x, min_y = min(xs), min(ys)
    span_x, span_y = max(xs) - min_x, max(ys) - min_y
    room = MAX_SIZE - 2 * MARGIN
    scale = min(1.0, room / span_x if span_x > 0 else 1.0, room / span_y if span_y > 0 else 1.0)
    canvas = _Canvas(
        min(MAX_SIZE, math.ceil(span_x * scale) + 2 * MARGIN),
        min(MAX_SIZE, math.ceil(span_y * scale) + 2 * MARGIN),
    )

    def at(x: float, y: float) -> tuple[float, float]:
        return (x - min_x) * scale + MARGIN, (y - min_y) * scale + MARGIN

    def box(b: Bounds) -> tuple[float, float, float, float]:
        x0, y0 = at(b.x, b.y)
        return x0, y0, x0 + b.width * scale, y0 + b.height * scale

    # containers (pools, lanes, expanded sub-processes) first, so their contents draw on top
    shapes.sort(key=lambda item: -(item[1].width * item[1].height))
    for element, bounds in shapes:
        _draw_shape(canvas, kinds.get(element, "box"), box(bounds), scale)
    for points in edges:
        canvas.polyline([at(x, y) for x, y in points], BLACK, 1)
        _arrow_head(canvas, at(*points[-2]), at(*points[-1]), scale)
    for label in labels:
        if label[0] == "outside":
            _, lines, cx, top = label
            x, y = at(cx, top)
            _draw_lines(canvas, lines, x, round(y))
        else:
            _, name, bounds, expanded = label
            _draw_inside(canvas, name, box(bounds), expanded)
    by_id = dict(shapes)
    for element in dict.fromkeys(active):
        if element in by_id:
            x0, y0, x1, y1 = box(by_id[element])
            canvas.rectangle(x0, y0, x1, y1, RED, HIGHLIGHT_WIDTH)
    return canvas.png()


def _plan_labels(
    diagram: Diagram,
    kinds: Mapping[str, str],
    names: Mapping[str, str],
    shapes: list,
    edge_items: list,
) -> list[tuple]:
    """``("inside", name, bounds, expanded)`` for boxes, ``("outside", lines, centre x, top)``
    (DI coordinates) for events, gateways and flows; external labels are wrapped here, at the
    font's own size."""
    labels: list[tuple] = []
    for element, bounds in shapes:
        name = _clean(names.get(element))
        if not name:
            continue
        shape = diagram.shapes[element]
        if kinds.get(element, "box") not in _OUTSIDE_LABEL_KINDS:
            labels.append(("inside", name, bounds, shape.is_expanded is True))
            continue
        lines = _fit(name, _LABEL_WRAP, _LABEL_LINES)
        if not lines:
            continue
        spot = shape.label_bounds
        if spot is not None and _finite_bounds(spot):
            labels.append(("outside", lines, spot.x + spot.width / 2, spot.y))
        else:
            labels.append(
                (
                    "outside",
                    lines,
                    bounds.x + bounds.width / 2,
                    bounds.y + bounds.height + _LABEL_GAP,
                )
            )
    for element, _ in edge_items:
        name = _clean(names.get(element))
        spot = diagram.edges[element].label_bounds
        if name and spot is not None and _finite_bounds(spot):
            lines = _fit(name, _LABEL_WRAP, _LABEL_LINES)
            if lines:
                labels.append(("outside", lines, spot.x + spot.width / 2, spot.y))
    return labels


def _clean(name: object) -> str:
    return name[:_MAX_NAME].strip() if isinstance(name, str) else ""


def _wrap(text: str, max_chars: int, max_lines: int) -> list[str]:
    """Greedy word wrap to ``max_chars`` per line (over-long words broken); stops once more
    than ``max_lines`` lines are known."""
    lines: list[str] = []
    for paragraph in text.splitlines():
        line = ""
        for word in paragraph.split():
            if len(lines) > max_lines:
                return lines
            if line and len(line) + 1 + len(word) <= max_chars:
                line += " " + word
                continue
            if line:
                lines.append(line)
            while len(word) > max_chars and len(lines) <= max_lines:
                lines.append(word[:max_chars])
                word = word[max_chars:]
            line = word
        if line:
            lines.append(line)
    return lines


def _fit(text: str, width: int, max_lines: int) -> list[str]:
    """``text`` wrapped into ``width`` pixels; beyond ``max_lines`` the rest is dropped and the
    last kept line ends in an ellipsis."""
    max_chars = (width + 1) // ADVANCE
    if max_chars <= 0 or max_lines <= 0:
        return []
    lines = _wrap(text, max_chars, max_lines)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max_chars - 1].rstrip() + ELLIPSIS
    return lines


def _draw_inside(
    canvas: _Canvas, name: str, box: tuple[float, float, float, float], expanded: bool
) -> None:
    """``name`` inside the box, ``TEXT_PADDING`` from its edges: centred, or at the top for an
    expanded sub-process."""
    left, top = round(box[0]) + TEXT_PADDING, round(box[1]) + TEXT_PADDING
    right, bottom = round(box[2]) - TEXT_PADDING, round(box[3]) - TEXT_PADDING
    width, height = right - left + 1, bottom - top + 1
    fitting = (height + LINE_HEIGHT - GLYPH_HEIGHT) // LINE_HEIGHT
    lines = _fit(name, width, min(2, fitting) if expanded else fitting)
    if not lines:
        return
    if not expanded:
        top += (height - (len(lines) * LINE_HEIGHT - (LINE_HEIGHT - GLYPH_HEIGHT))) // 2
    _draw_lines(canvas, lines, left + width / 2, top)


def _draw_lines(canvas: _Canvas, lines: Sequence[str], cx: float, top: int) -> None:
    for line in lines:
        canvas.text(math.floor(cx - text_width(line) / 2 + 0.5), top, line, BLACK)
        top += LINE_HEIGHT


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def _finite_bounds(b: Bounds) -> bool:
    return _finite(b.x, b.y, b.width, b.height) and b.width >= 0 and b.height >= 0


def _draw_shape(
    canvas: _Canvas, kind: str, box: tuple[float, float, float, float], scale: float
) -> None:
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if kind in ("start", "end", "intermediate"):
        radius = min(x1 - x0, y1 - y0) / 2
        canvas.ring(cx, cy, radius, BLACK, 3 if kind == "end" else 1)
        if kind == "intermediate" and radius > 4:
            canvas.ring(cx, cy, radius - 3, BLACK, 1)
        return
    if kind in ("exclusive", "parallel", "inclusive", "event-gateway", "complex"):
        diamond = [(cx, y0), (x1, cy), (cx, y1), (x0, cy), (cx, y0)]
        canvas.polyline(diamond, BLACK, 1)
        quarter_w, quarter_h = (x1 - x0) / 4, (y1 - y0) / 4
        if kind in ("parallel", "complex"):
            canvas.line(cx, cy - quarter_h, cx, cy + quarter_h, BLACK, 3)
            canvas.line(cx - quarter_w, cy, cx + quarter_w, cy, BLACK, 3)
        if kind in ("exclusive", "complex"):
            dx, dy = quarter_w * 0.7, quarter_h * 0.7
            canvas.line(cx - dx, cy - dy, cx + dx, cy + dy, BLACK, 3)
            canvas.line(cx - dx, cy + dy, cx + dx, cy - dy, BLACK, 3)
        if kind in ("inclusive", "event-gateway"):
            canvas.ring(cx, cy, min(quarter_w, quarter_h), BLACK, 3 if kind == "inclusive" else 1)
        return
    canvas.rectangle(x0, y0, x1, y1, BLACK, 2 if kind == "task" and scale >= 0.5 else 1)


def _arrow_head(
    canvas: _Canvas, before: tuple[float, float], tip: tuple[float, float], scale: float
) -> None:
    dx, dy = tip[0] - before[0], tip[1] - before[1]
    length = math.hypot(dx, dy)
    if length == 0:
        return
    ux, uy = dx / length, dy / length
    back, half = _ARROW_LENGTH * max(scale, 0.3), _ARROW_HALF_WIDTH * max(scale, 0.3)
    bx, by = tip[0] - ux * back, tip[1] - uy * back
    canvas.fill_polygon(
        [tip, (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)], BLACK
    )


class _Canvas:
    """Rows of palette indexes; primitives fill clipped horizontal spans."""

    def __init__(self, width: int, height: int):
        self.width, self.height = max(1, width), max(1, height)
        self.rows = [bytearray(self.width) for _ in range(self.height)]

    def span(self, y: int, x0: int, x1: int, color: int) -> None:
        """Fill row ``y`` from ``x0`` to ``x1`` inclusive."""
        if 0 <= y < self.height:
            x0, x1 = max(0, x0), min(self.width - 1, x1)
            if x0 <= x1:
                self.rows[y][x0 : x1 + 1] = bytes((color,)) * (x1 - x0 + 1)

    def fill_rect(self, x0: int, y0: int, x1: int, y1: int, color: int) -> None:
        for y in range(max(0, y0), min(self.height - 1, y1) + 1):
            self.span(y, x0, x1, color)

    def text(self, left: int, top: int, line: str, color: int) -> None:
        """``line`` in the bitmap font, its first glyph's top-left pixel at ``(left, top)``."""
        last_x = self.width - 1
        for char in line:
            if left > last_x:
                return
            if char != " ":
                y = top
                for runs in spans(char):
                    if 0 <= y < self.height:
                        row = self.rows[y]
                        for first, last in runs:
                            x0, x1 = max(0, left + first), min(last_x, left + last)
                            if x0 <= x1:
                                row[x0 : x1 + 1] = bytes((color,)) * (x1 - x0 + 1)
                    y += 1
            left += ADVANCE

    def rectangle(self, x0: float, y0: float, x1: float, y1: float, color: int, width: int) -> None:
        """An outline ``width`` pixels thick, inside ``(x0, y0)-(x1, y1)``."""
        left, top, right, bottom = round(x0), round(y0), round(x1), round(y1)
        inner = width - 1
        self.fill_rect(left, top, right, top + inner, color)
        self.fill_rect(left, bottom - inner, right, bottom, color)
        self.fill_rect(left, top, left + inner, bottom, color)
        self.fill_rect(right - inner, top, right, bottom, color)

    def line(self, x0: float, y0: float, x1: float, y1: float, color: int, width: int) -> None:
        """A straight line ``width`` pixels thick (a square brush along Bresenham's path)."""
        ax, ay, bx, by = round(x0), round(y0), round(x1), round(y1)
        low, high = -((width - 1) // 2), width // 2
        if ax == bx or ay == by:  # the usual orthogonal flow segment: one rectangle
            self.fill_rect(
                min(ax, bx) + low, min(ay, by) + low, max(ax, bx) + high, max(ay, by) + high, color
            )
            return
        dx, dy = abs(bx - ax), -abs(by - ay)
        sx, sy = (1 if ax < bx else -1), (1 if ay < by else -1)
        error = dx + dy
        for _ in range(dx - dy + 1):  # at most one step per pixel of the longer axis, twice
            self.fill_rect(ax + low, ay + low, ax + high, ay + high, color)
            if ax == bx and ay == by:
                return
            doubled = 2 * error
            if doubled >= dy:
                error += dy
                ax += sx
            if doubled <= dx:
                error += dx
                ay += sy

    def polyline(self, points: Sequence[tuple[float, float]], color: int, width: int) -> None:
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            self.line(x0, y0, x1, y1, color, width)

    def ring(self, cx: float, cy: float, radius: float, color: int, width: int) -> None:
        """A circle outline ``width`` pixels thick, inside ``radius``."""
        inner = radius - width
        for y in range(math.floor(cy - radius), math.ceil(cy + radius) + 1):
            dy = y - cy
            if abs(dy) > radius:
                continue
            outer_x = math.sqrt(radius * radius - dy * dy)
            if inner > 0 and abs(dy) < inner:
                inner_x = math.sqrt(inner * inner - dy * dy)
                self.span(y, round(cx - outer_x), round(cx - inner_x), color)
                self.span(y, round(cx + inner_x), round(cx + outer_x), color)
            else:
                self.span(y, round(cx - outer_x), round(cx + outer_x), color)

    def fill_polygon(self, points: Sequence[tuple[float, float]], color: int) -> None:
        """Fill a convex polygon, one span per row."""
        top = math.floor(min(y for _, y in points))
        bottom = math.ceil(max(y for _, y in points))
        closed = list(zip(points, list(points[1:]) + [points[0]]))
        for y in range(max(0, top), min(self.height - 1, bottom) + 1):
            crossings = []
            for (x0, y0), (x1, y1) in closed:
                if y0 == y1:
                    if abs(y - y0) < 0.5:
                        crossings += [x0, x1]
                elif min(y0, y1) - 0.5 <= y <= max(y0, y1) + 0.5:
                    t = min(1.0, max(0.0, (y - y0) / (y1 - y0)))
                    crossings.append(x0 + t * (x1 - x0))
            if crossings:
                self.span(y, round(min(crossings)), round(max(crossings)), color)

    def png(self) -> bytes:
        import png  # pypng: loaded only when a diagram is drawn

        out = io.BytesIO()
        png.Writer(self.width, self.height, palette=PALETTE, bitdepth=8).write(out, self.rows)
        return out.getvalue()
