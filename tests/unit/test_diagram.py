"""``engine.diagram``: PNG rendering of a definition's BPMN diagram interchange."""
from __future__ import annotations

import time

import png
import pytest

from chalicelib.engine import parse_bpmn
from chalicelib.engine.diagram import MARGIN, MAX_SIZE, render, render_definition
from chalicelib.engine.model import Bounds, Diagram, Shape

DI_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
             xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
             xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="{key}" name="Drawn">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review" flowable:assignee="openidm-admin"/>
    <sequenceFlow id="f2" sourceRef="review" targetRef="check"/>
    <exclusiveGateway id="check"/>
    <sequenceFlow id="f3" sourceRef="check" targetRef="end"/>
    <endEvent id="end"/>
  </process>
  <bpmndi:BPMNDiagram id="d">
    <bpmndi:BPMNPlane id="p" bpmnElement="{key}">
      <bpmndi:BPMNShape id="s1" bpmnElement="start">
        <dc:Bounds x="100" y="102" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="s2" bpmnElement="review">
        <dc:Bounds x="200" y="80" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="s3" bpmnElement="check">
        <dc:Bounds x="350" y="100" width="40" height="40"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="s4" bpmnElement="end">
        <dc:Bounds x="440" y="102" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="e1" bpmnElement="f1">
        <di:waypoint x="136" y="120"/><di:waypoint x="200" y="120"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="e2" bpmnElement="f2">
        <di:waypoint x="300" y="120"/><di:waypoint x="350" y="120"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="e3" bpmnElement="f3">
        <di:waypoint x="390" y="120"/><di:waypoint x="415" y="140"/>
        <di:waypoint x="440" y="120"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</definitions>
"""
#: the DI spans x 100..476 and y 80..160
WIDTH, HEIGHT = 376 + 2 * MARGIN, 80 + 2 * MARGIN
#: a pixel of the user task's left edge: its outline when highlighted
TASK_EDGE = (200 - 100 + MARGIN + 1, 120 - 80 + MARGIN)
RED, BLACK, WHITE = (255, 0, 0), (0, 0, 0), (255, 255, 255)


def di_bpmn(key: str = "drawn") -> str:
    return DI_BPMN.replace("{key}", key)


def decode(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    width, height, rows, _ = png.Reader(bytes=data).asRGB8()
    pixels = [[tuple(row[i:i + 3]) for i in range(0, 3 * width, 3)] for row in rows]
    return width, height, pixels


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


@pytest.mark.parametrize("bounds", [
    Bounds(0, 0, 1e9, 50), Bounds(-1e12, -1e12, 2e12, 2e12), Bounds(0, 0, 10_000, 10_000)])
def test_oversize_diagram_interchange_is_scaled_into_the_cap(bounds):
    diagram = Diagram(shapes={"big": Shape(id="s", bpmn_element="big", bounds=bounds),
                              "nan": Shape(id="n", bpmn_element="nan",
                                           bounds=Bounds(float("nan"), 0, 5, 5))})
    started = time.perf_counter()
    width, height, pixels = decode(render(diagram, {"big": "task"}, active=["big"]))
    assert width <= MAX_SIZE and height <= MAX_SIZE
    assert pixels[MARGIN][MARGIN] == RED
    assert time.perf_counter() - started < 20


def test_typical_diagram_renders_fast():
    definitions = parse_bpmn(di_bpmn())
    started = time.perf_counter()
    for _ in range(10):
        render_definition(definitions, "drawn", active=["review"])
    assert (time.perf_counter() - started) / 10 < 0.05


def test_other_processes_of_the_document_are_left_out():
    text = di_bpmn().replace('<bpmndi:BPMNDiagram', '''<process id="other">
    <startEvent id="far"/></process>
  <bpmndi:BPMNDiagram''').replace('</bpmndi:BPMNPlane>', '''<bpmndi:BPMNShape id="s9"
      bpmnElement="far"><dc:Bounds x="900" y="900" width="36" height="36"/></bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>''')
    definitions = parse_bpmn(text)
    assert decode(render_definition(definitions, "drawn"))[:2] == (WIDTH, HEIGHT)
    assert decode(render_definition(definitions, "other"))[:2] == (36 + 2 * MARGIN,) * 2
