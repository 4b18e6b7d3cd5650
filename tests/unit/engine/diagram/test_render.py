"""``engine.diagram``: PNG rendering of a definition's BPMN diagram interchange."""

from __future__ import annotations

import time

import png
import pytest

from chalicelib.engine import parse_bpmn
from chalicelib.engine.diagram import MARGIN, MAX_SIZE, TEXT_PADDING, render, render_definition
from chalicelib.engine.diagram.font import ELLIPSIS, spans
from chalicelib.engine.model import Bounds, Diagram, Edge, Shape
from tests.support.diagram import BLACK, HEIGHT, RED, TASK_EDGE, WHITE, WIDTH, decode, di_bpmn


def test_png_is_the_di_bounds_plus_margin():
    data = render_definition(parse_bpmn(di_bpmn()), "drawn")
    assert data is not None and data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, pixels = decode(data)
    assert (width, height) == (WIDTH, HEIGHT)
    assert pixels[0][0] == WHITE and pixels[HEIGHT // 2][MARGIN // 2] == WHITE
    flat = {pixel for row in pixels for pixel in row}
    assert BLACK in flat and RED not in flat


def test_active_activity_is_outlined_in_red():
    definitions = parse_bpmn(di_bpmn())
    x, y = TASK_EDGE
    plain = decode(render_definition(definitions, "drawn"))[2]
    lit = decode(render_definition(definitions, "drawn", active=["review"]))[2]
    assert plain[y][x] != RED and lit[y][x] == RED
    assert lit[y][x - 1] == lit[y][x + 1] == RED and lit[y][x + 2] != RED  # 3 pixels thick
    assert plain[y][x + 4] == lit[y][x + 4]  # the rest of the image is unchanged
    unknown = decode(render_definition(definitions, "drawn", active=["nowhere"]))[2]
    assert unknown == plain


def test_without_diagram_interchange_there_is_no_png():
    text = di_bpmn().split("<bpmndi:BPMNDiagram")[0] + "</definitions>"
    definitions = parse_bpmn(text)
    assert definitions.diagram.is_empty
    assert render_definition(definitions, "drawn") is None
    assert render(Diagram(shapes={"x": Shape(id="s", bpmn_element="x")}), {}) is None


@pytest.mark.parametrize(
    "bounds",
    [Bounds(0, 0, 1e9, 50), Bounds(-1e12, -1e12, 2e12, 2e12), Bounds(0, 0, 10_000, 10_000)],
)
def test_oversize_diagram_interchange_is_scaled_into_the_cap(bounds):
    diagram = Diagram(
        shapes={
            "big": Shape(id="s", bpmn_element="big", bounds=bounds),
            "nan": Shape(id="n", bpmn_element="nan", bounds=Bounds(float("nan"), 0, 5, 5)),
        }
    )
    started = time.perf_counter()
    data = render(diagram, {"big": "task"}, active=["big"])
    assert time.perf_counter() - started < 20
    width, height, rows, _ = png.Reader(bytes=data).asRGB8()  # rows decode lazily
    assert width <= MAX_SIZE and height <= MAX_SIZE
    row = next(r for n, r in enumerate(rows) if n == MARGIN)
    assert tuple(row[3 * MARGIN : 3 * MARGIN + 3]) == RED


def test_typical_diagram_renders_fast():
    definitions = parse_bpmn(di_bpmn())
    started = time.perf_counter()
    for _ in range(10):
        render_definition(definitions, "drawn", active=["review"])
    assert (time.perf_counter() - started) / 10 < 0.05


def test_other_processes_of_the_document_are_left_out():
    text = (
        di_bpmn()
        .replace(
            "<bpmndi:BPMNDiagram",
            """<process id="other">
    <startEvent id="far"/></process>
  <bpmndi:BPMNDiagram""",
        )
        .replace(
            "</bpmndi:BPMNPlane>",
            """<bpmndi:BPMNShape id="s9"
      bpmnElement="far"><dc:Bounds x="900" y="900" width="36" height="36"/></bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>""",
        )
    )
    definitions = parse_bpmn(text)
    assert decode(render_definition(definitions, "drawn"))[:2] == (WIDTH, HEIGHT)
    assert decode(render_definition(definitions, "other"))[:2] == (36 + 2 * MARGIN,) * 2


# --- labels -----------------------------------------------------------------------------------


def one_task(
    name: str | None, bounds: Bounds = Bounds(0, 0, 100, 80), kind: str = "task", **shape
) -> list[list[tuple[int, int, int]]]:
    diagram = Diagram(shapes={"t": Shape(id="s", bpmn_element="t", bounds=bounds, **shape)})
    return decode(render(diagram, {"t": kind}, names={"t": name} if name is not None else {}))[2]


def dark(pixels, x0: int, y0: int, x1: int, y1: int) -> set[tuple[int, int]]:
    """Non-white pixels with ``x0 <= x <= x1`` and ``y0 <= y <= y1``."""
    return {
        (x, y)
        for y in range(max(0, y0), min(len(pixels) - 1, y1) + 1)
        for x in range(max(0, x0), min(len(pixels[0]) - 1, x1) + 1)
        if pixels[y][x] != WHITE
    }


def inner(bounds: Bounds) -> tuple[int, int, int, int]:
    """The text area of a task drawn at scale 1."""
    return (
        MARGIN + TEXT_PADDING,
        MARGIN + TEXT_PADDING,
        MARGIN + round(bounds.width) - TEXT_PADDING,
        MARGIN + round(bounds.height) - TEXT_PADDING,
    )


def test_task_name_is_drawn_centred_inside_its_box():
    bounds = Bounds(0, 0, 100, 80)
    text = dark(one_task("Review", bounds), *inner(bounds))
    assert text and all(
        pixel == BLACK for pixel in [one_task("Review", bounds)[y][x] for x, y in text]
    )
    xs, ys = {x for x, _ in text}, {y for _, y in text}
    centre_x, centre_y = MARGIN + 50, MARGIN + 40
    assert abs((min(xs) + max(xs)) / 2 - centre_x) <= 1
    assert abs((min(ys) + max(ys)) / 2 - centre_y) <= 1
    assert max(xs) - min(xs) + 1 <= 6 * 6 and max(ys) - min(ys) + 1 <= 7  # one line, 6 glyphs
    for empty in (None, "", "   "):
        assert dark(one_task(empty, bounds), *inner(bounds)) == set()


@pytest.mark.parametrize(
    "name",
    [
        "Review the request of the applicant very carefully and then decide what to do next " * 4,
        "Supercalifragilisticexpialidocious" * 10,
        "a\nb\n\nc " + "word " * 200,
    ],
)
@pytest.mark.parametrize(
    "bounds",
    [
        Bounds(0, 0, 100, 80),
        Bounds(0, 0, 37, 29),
        Bounds(0, 0, 12, 12),
        Bounds(3.6, 2.4, 81.3, 40.7),
    ],
)
def test_long_names_wrap_and_stay_inside_the_box(name, bounds):
    pixels = one_task(name, bounds)
    plain = one_task(None, bounds)
    x0, y0, x1, y1 = inner(bounds)
    changed = {
        (x, y)
        for y, row in enumerate(pixels)
        for x, pixel in enumerate(row)
        if pixel != plain[y][x]
    }
    assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in changed)
    if bounds.width == 100:  # several lines, the last one cut with an ellipsis
        ys = {y for _, y in changed}
        assert max(ys) - min(ys) > 2 * 9
        assert {x for x, _ in changed} and max(x for x, _ in changed) > x0 + 60


def test_the_last_line_of_a_cut_name_ends_in_an_ellipsis():
    bounds = Bounds(0, 0, 100, 30)  # 22 pixels of text area: two lines of 15 characters
    pixels = one_task("one two three four five six seven eight nine ten", bounds)
    text = dark(pixels, *inner(bounds))
    bottom = max(y for _, y in text)
    last_line = {(x, y) for x, y in text if y > bottom - 7}
    right = max(x for x, _ in last_line)
    ellipsis_row = bottom  # the ellipsis' dots sit on the glyph's last row
    assert spans(ELLIPSIS)[6] == ((0, 0), (2, 2), (4, 4))
    assert all((right - dx, ellipsis_row) in text for dx in (0, 2, 4))
    assert (right - 1, ellipsis_row) not in text and (right - 3, ellipsis_row) not in text
    assert len({y for _, y in text}) == 14  # exactly two rows of 7 pixels


def test_non_ascii_names_draw_question_marks():
    bounds = Bounds(0, 0, 140, 60)
    funny = one_task("Pr\u00fcfung \u5be9\u67fb \u2713\x00\x7f\U0001f600", bounds)
    assert funny == one_task("Pr?fung ?? ????", bounds)
    assert dark(funny, *inner(bounds))


def test_expanded_sub_process_name_is_drawn_at_the_top():
    bounds = Bounds(0, 0, 300, 200)
    pixels = one_task("Handle claim", bounds, is_expanded=True)
    text = dark(pixels, *inner(bounds))
    assert text and max(y for _, y in text) < MARGIN + 30


def test_event_gateway_and_flow_names_are_drawn_outside_their_shapes():
    text = (
        di_bpmn()
        .replace('<startEvent id="start"/>', '<startEvent id="start" name="Go"/>')
        .replace('<exclusiveGateway id="check"/>', '<exclusiveGateway id="check" name="Ok?"/>')
        .replace('<sequenceFlow id="f3"', '<sequenceFlow id="f3" name="yes"')
        .replace(
            '<di:waypoint x="440" y="120"/></bpmndi:BPMNEdge>',
            '<di:waypoint x="440" y="120"/><bpmndi:BPMNLabel><dc:Bounds x="400" y="85" '
            'width="20" height="14"/></bpmndi:BPMNLabel></bpmndi:BPMNEdge>',
        )
        .replace(
            '<dc:Bounds x="350" y="100" width="40" height="40"/></bpmndi:BPMNShape>',
            '<dc:Bounds x="350" y="100" width="40" height="40"/><bpmndi:BPMNLabel>'
            '<dc:Bounds x="355" y="70" width="30" height="14"/></bpmndi:BPMNLabel>'
            "</bpmndi:BPMNShape>",
        )
    )
    named = render_definition(parse_bpmn(text), "drawn")
    width, height, pixels = decode(named)
    plain = decode(render_definition(parse_bpmn(di_bpmn()), "drawn"))[2]

    def at(x, y):  # DI to pixel, the DI's top-left being (100, 70) once the label is counted
        return x - 100 + MARGIN, y - 70 + MARGIN

    assert (width, height) == (WIDTH, HEIGHT + 10)
    start_label = dark(pixels, *at(100, 141), *at(136, 152))
    assert start_label and not dark(pixels, *at(60, 139), *at(99, 160))
    gateway_label = dark(pixels, *at(350, 70), *at(390, 78))
    assert gateway_label
    flow_label = dark(pixels, *at(395, 85), *at(425, 93))
    assert flow_label
    shifted = {(x, y - 10) for x, y in dark(pixels, 0, 10, WIDTH - 1, HEIGHT + 9)}
    assert dark(plain, 0, 0, WIDTH - 1, HEIGHT - 1) <= shifted  # the rest is drawn as before


def test_names_of_a_typical_diagram_render_fast():
    names = {f"t{i}": f"Task number {i} with a rather long descriptive name" for i in range(60)}
    diagram = Diagram(
        shapes={
            f"t{i}": Shape(
                id=None,
                bpmn_element=f"t{i}",
                bounds=Bounds(120 * (i % 10), 100 * (i // 10), 100, 80),
            )
            for i in range(60)
        },
        edges={
            "f": Edge(
                id=None,
                bpmn_element="f",
                waypoints=((0, 0), (50, 0)),
                label_bounds=Bounds(10, 5, 30, 14),
            )
        },
    )
    names["f"] = "flow"
    kinds = {f"t{i}": "task" for i in range(60)}
    started = time.perf_counter()
    for _ in range(5):
        render(diagram, kinds, names=names)
    assert (time.perf_counter() - started) / 5 < 0.2
