"""A small BPMN document with diagram interchange, and PNG decoding for the renderer's tests."""

from __future__ import annotations

import png

from chalicelib.engine.diagram import MARGIN

#: the DI spans x 100..476 and y 80..160
WIDTH, HEIGHT = 376 + 2 * MARGIN, 80 + 2 * MARGIN


#: a pixel of the user task's left edge: its outline when highlighted
TASK_EDGE = (200 - 100 + MARGIN + 1, 120 - 80 + MARGIN)


RED, BLACK, WHITE = (255, 0, 0), (0, 0, 0), (255, 255, 255)


def di_bpmn(key: str = "drawn") -> str:
    return DI_BPMN.replace("{key}", key)


def decode(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    width, height, rows, _ = png.Reader(bytes=data).asRGB8()
    pixels = [[tuple(row[i : i + 3]) for i in range(0, 3 * width, 3)] for row in rows]
    return width, height, pixels


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
