"""parse_bpmn: the immutable model, extension namespaces, positions, diagram interchange."""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.engine import elements as el
from chalicelib.engine.parser import parse_bpmn
from chalicelib.engine.parts import MultiInstance
from chalicelib.engine.problems import ProblemCode

USER_TASK = """
  <startEvent id="start" flowable:initiator="starter" flowable:formKey="start.form">
    <extensionElements>
      <flowable:formProperty id="speaker" name="Speaker" type="string" required="true"/>
      <flowable:formProperty id="direction" type="enum" writable="false" default="left">
        <flowable:value id="left" name="Go Left"/>
        <flowable:value id="right" name="Go Right"/>
      </flowable:formProperty>
      <flowable:formProperty id="start" type="date" datePattern="dd-MMM-yyyy"
          expression="${when}" variable="startDate" readable="false"/>
    </extensionElements>
  </startEvent>
  <sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
  <userTask id="task" name="Approve"
      activiti:assignee="${initiator}" flowable:owner="boss"
      camunda:candidateUsers="kermit, ${vars:get(a, b)}" activiti:candidateGroups="sales,mgmt"
      flowable:priority="${p}" flowable:dueDate="PT1H" flowable:category="c"
      flowable:formKey="task.form" flowable:async="true" flowable:exclusive="false">
    <documentation>Please approve</documentation>
    <extensionElements>
      <activiti:taskListener event="create" expression="${audit.log(task)}"/>
      <flowable:executionListener event="end" delegateExpression="${listener}"/>
      <flowable:failedJobRetryTimeCycle>R5/PT7M</flowable:failedJobRetryTimeCycle>
    </extensionElements>
    <multiInstanceLoopCharacteristics isSequential="true" flowable:collection="${users}"
        flowable:elementVariable="user">
      <completionCondition>${nrOfCompletedInstances >= 2}</completionCondition>
    </multiInstanceLoopCharacteristics>
  </userTask>
  <sequenceFlow id="f2" sourceRef="task" targetRef="end">
    <conditionExpression xsi:type="tFormalExpression"><![CDATA[${ok}]]></conditionExpression>
  </sequenceFlow>
  <endEvent id="end"/>
"""


def test_process_and_user_task_model(bpmn):
    definitions = parse_bpmn(bpmn(USER_TASK), resource_name="x.bpmn20.xml")
    assert definitions.problems == ()
    assert definitions.category == "Examples"
    assert definitions.resource_name == "x.bpmn20.xml"
    process = definitions.processes["p"]
    assert (process.key, process.name, process.is_executable) == ("p", "Test", True)
    task = process.elements["task"]
    assert isinstance(task, el.UserTask)
    assert task.assignee == "${initiator}"  # activiti: namespace
    assert task.owner == "boss"
    assert task.candidate_users == ("kermit", "${vars:get(a, b)}")  # camunda:, comma-aware
    assert task.candidate_groups == ("sales", "mgmt")
    assert (task.priority, task.due_date, task.category) == ("${p}", "PT1H", "c")
    assert task.documentation == "Please approve"
    assert task.async_before and not task.exclusive
    assert task.failed_job_retry_time_cycle == "R5/PT7M"
    assert task.task_listeners[0].expression == "${audit.log(task)}"
    assert task.task_listeners[0].event == "create"
    assert task.execution_listeners[0].delegate_expression == "${listener}"
    assert task.loop == MultiInstance(
        is_sequential=True,
        collection="${users}",
        element_variable="user",
        completion_condition="${nrOfCompletedInstances >= 2}",
        line=task.loop.line,
        column=task.loop.column,
    )
    assert process.flows["f2"].condition == "${ok}"
    assert [f.id for f in process.outgoing("task")] == ["f2"]
    assert [f.id for f in process.incoming("task")] == ["f1"]


def test_start_form_and_form_keys(bpmn):
    process = parse_bpmn(bpmn(USER_TASK)).processes["p"]
    start = process.initial_start_event
    assert start.initiator == "starter"
    assert process.start_form_key == "start.form"
    speaker, direction, date = process.start_form_properties
    assert speaker.required and speaker.readable and speaker.writable
    assert [(v.id, v.name) for v in direction.values] == [
        ("left", "Go Left"),
        ("right", "Go Right"),
    ]
    assert (direction.writable, direction.default) == (False, "left")
    assert (date.date_pattern, date.expression, date.variable, date.readable) == (
        "dd-MMM-yyyy",
        "${when}",
        "startDate",
        False,
    )
    assert process.form_keys() == ("start.form", "task.form")


def test_elements_are_frozen(bpmn):
    process = parse_bpmn(bpmn(USER_TASK)).processes["p"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        process.elements["task"].name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        process.elements["x"] = None  # type: ignore[index]


def test_flowable_namespace_wins_over_activiti_and_camunda(bpmn):
    body = (
        '<startEvent id="s"/><userTask id="t" camunda:assignee="c" '
        'activiti:assignee="a" flowable:assignee="f"/>'
    )
    task = parse_bpmn(bpmn(body)).processes["p"].elements["t"]
    assert task.assignee == "f"


def test_line_and_column_point_at_the_start_tag(bpmn, line):
    xml = bpmn('<startEvent id="s"/>\n   <userTask\n      id="t"\n      name="x"/>')
    task = parse_bpmn(xml).processes["p"].elements["t"]
    assert (task.line, task.column) == (line(xml, "<userTask"), 4)


def test_column_of_same_tag_twice_on_a_line(bpmn, line):
    xml = bpmn('<startEvent id="s"/><endEvent id="e1"/> <endEvent id="e2"/>')
    elements = parse_bpmn(xml).processes["p"].elements
    assert elements["e1"].column == 21
    assert elements["e2"].column == 41
    assert elements["e2"].line == line(xml, 'id="e2"')


def test_events_and_definitions(bpmn):
    declarations = (
        '<message id="m1" name="newInvoice"/><signal id="s1" name="alert" '
        'flowable:scope="processInstance"/><error id="e1" errorCode="E42"/>'
        '<escalation id="x1" escalationCode="ESC"/>'
    )
    body = """
    <startEvent id="s"><timerEventDefinition><timeCycle flowable:endDate="2030-01-01T00:00:00">
      R3/PT10M</timeCycle></timerEventDefinition></startEvent>
    <intermediateCatchEvent id="m"><messageEventDefinition messageRef="m1"/></intermediateCatchEvent>
    <intermediateThrowEvent id="sig"><signalEventDefinition signalRef="s1"/></intermediateThrowEvent>
    <userTask id="t"/>
    <boundaryEvent id="b" attachedToRef="t" cancelActivity="false">
      <errorEventDefinition errorRef="e1"/></boundaryEvent>
    <boundaryEvent id="b2" attachedToRef="t"><errorEventDefinition errorRef="undeclared"/>
    </boundaryEvent>
    <endEvent id="x"><escalationEventDefinition escalationRef="x1"/></endEvent>
    <endEvent id="term"><terminateEventDefinition flowable:terminateAll="true"/></endEvent>
    """
    definitions = parse_bpmn(bpmn(body, declarations=declarations))
    nodes = definitions.processes["p"].elements
    timer = nodes["s"].event_definitions[0]
    assert (timer.time_cycle, timer.end_date) == ("R3/PT10M", "2030-01-01T00:00:00")
    assert nodes["m"].event_definitions[0].message_name == "newInvoice"
    signal = nodes["sig"].event_definitions[0]
    assert (signal.signal_name, signal.scope) == ("alert", "processInstance")
    assert nodes["b"].event_definitions[0].error_code == "E42"
    assert nodes["b"].cancel_activity is False and nodes["b"].attached_to == "t"
    assert nodes["b2"].event_definitions[0].error_code == "undeclared"
    assert nodes["x"].event_definitions[0].escalation_code == "ESC"
    assert nodes["term"].event_definitions[0].terminate_all is True
    assert [b.id for b in definitions.processes["p"].boundary_events("t")] == ["b", "b2"]
    assert definitions.signals["s1"].scope == "processInstance"


def test_tasks_gateways_and_call_activity(bpmn):
    body = """
    <startEvent id="s"/>
    <scriptTask id="js" scriptFormat="javascript" flowable:resultVariable="r"
        flowable:autoStoreVariables="true"><script>x = 1;</script></scriptTask>
    <serviceTask id="svc" flowable:expression="${bean.go()}" flowable:resultVariableName="out"
        flowable:triggerable="true">
      <extensionElements><flowable:field name="to" stringValue="kermit"/>
        <flowable:field name="body"><flowable:expression>${text}</flowable:expression>
        </flowable:field></extensionElements>
    </serviceTask>
    <exclusiveGateway id="gw" default="f9"/>
    <callActivity id="call" calledElement="child" flowable:inheritVariables="true"
        flowable:businessKey="${key}">
      <extensionElements>
        <flowable:in source="a" target="b"/>
        <flowable:in sourceExpression="${x + 1}" target="y"/>
        <flowable:out source="r" target="result"/>
      </extensionElements>
    </callActivity>
    <subProcess id="sub" triggeredByEvent="true">
      <startEvent id="inner"><signalEventDefinition signalRef="sig"/></startEvent>
    </subProcess>
    """
    process = parse_bpmn(bpmn(body)).processes["p"]
    nodes = process.elements
    assert (
        nodes["js"].script_format,
        nodes["js"].script,
        nodes["js"].result_variable,
        nodes["js"].auto_store_variables,
    ) == ("javascript", "x = 1;", "r", True)
    svc = nodes["svc"]
    assert (svc.expression, svc.result_variable, svc.triggerable) == ("${bean.go()}", "out", True)
    assert [(f.name, f.string_value, f.expression) for f in svc.fields] == [
        ("to", "kermit", None),
        ("body", None, "${text}"),
    ]
    assert nodes["gw"].default_flow == "f9"
    call = nodes["call"]
    assert (call.called_element, call.inherit_variables, call.business_key) == (
        "child",
        True,
        "${key}",
    )
    assert [(m.source, m.source_expression, m.target) for m in call.in_mappings] == [
        ("a", None, "b"),
        (None, "${x + 1}", "y"),
    ]
    assert call.out_mappings[0].target == "result"
    assert nodes["inner"].parent_id == "sub"
    assert [n.id for n in process.children("sub")] == ["inner"]
    assert nodes["sub"].triggered_by_event


def test_potential_owner_formal_expression(corpus):
    path = corpus / "flowable" / "TaskCandidateTest.testMixedCandidateUserAndGroup.bpmn20.xml"
    process = next(iter(parse_bpmn(path.read_bytes()).processes.values()))
    task = process.user_tasks[0]
    assert task.candidate_users == ("kermit",)
    assert task.candidate_groups == ("sales",)


def test_diagram_interchange_is_kept(corpus):
    definitions = parse_bpmn((corpus / "miwg" / "A.1.0.bpmn").read_bytes())
    process = next(iter(definitions.processes.values()))
    assert not definitions.diagram.is_empty
    for node_id in process.elements:
        assert definitions.diagram.shapes[node_id].bounds is not None
    for flow_id in process.flows:
        assert len(definitions.diagram.edges[flow_id].waypoints) >= 2


def test_missing_ids_are_generated_for_flows_and_nodes(bpmn):
    definitions = parse_bpmn(
        bpmn('<startEvent id="s"/><sequenceFlow sourceRef="s" targetRef="e"/><endEvent/>')
    )
    process = definitions.processes["p"]
    assert len(process.flows) == 1
    assert any(node_id.startswith("_endEvent_") for node_id in process.elements)
    assert [p.code for p in definitions.problems] == [ProblemCode.MALFORMED_ELEMENT]
    assert definitions.problems[0].is_warning


def test_duplicate_ids_are_problems_not_crashes(bpmn):
    definitions = parse_bpmn(bpmn('<startEvent id="a"/><endEvent id="a"/>'))
    assert [p.code for p in definitions.problems] == [ProblemCode.DUPLICATE_ID]
    assert isinstance(definitions.processes["p"].elements["a"], el.StartEvent)


def test_not_bpmn_root_is_a_problem():
    definitions = parse_bpmn(b"<root><process id='p'/></root>")
    assert definitions.processes == {}
    assert definitions.problems[0].code is ProblemCode.NOT_BPMN


def test_unknown_bpmn_element_is_a_warning(bpmn):
    definitions = parse_bpmn(bpmn('<startEvent id="s"/><choreographyTask id="c"/>'))
    assert definitions.problems[0].code is ProblemCode.UNKNOWN_ELEMENT
    assert definitions.problems[0].is_warning


def test_is_executable_defaults_to_true(bpmn):
    xml = bpmn('<startEvent id="s"/>').replace(' isExecutable="true"', "")
    assert parse_bpmn(xml).processes["p"].is_executable


DATA_OBJECTS = """
  <dataObject id="d1" name="StringTest" itemSubjectRef="xsd:string">
    <extensionElements><flowable:value>Testing123</flowable:value></extensionElements>
  </dataObject>
  <dataObject id="d2" name="BooleanTest" itemSubjectRef="xsd:boolean">
    <extensionElements><flowable:value>TRUE</flowable:value></extensionElements>
  </dataObject>
  <dataObject id="d3" name="IntegerTest" itemSubjectRef="xsd:int">
    <extensionElements><activiti:value>-123</activiti:value></extensionElements>
  </dataObject>
  <dataObject id="d4" name="LongTest" itemSubjectRef="xsd:long">
    <extensionElements><flowable:value>9876543210</flowable:value></extensionElements>
  </dataObject>
  <dataObject id="d5" name="DoubleTest" itemSubjectRef="xsd:double">
    <extensionElements><flowable:value>1.5e2</flowable:value></extensionElements>
  </dataObject>
  <dataObject id="d6" name="DateTest" itemSubjectRef="xsd:datetime">
    <extensionElements><flowable:value>2013-09-16T11:23:00</flowable:value></extensionElements>
  </dataObject>
  <dataObject id="d7" name="NoValue"/>
  <dataObject id="d8" name="Odd" itemSubjectRef="xsd:decimal"/>
  <startEvent id="s"/>
  <subProcess id="sub"><dataObject id="d9" name="Inner" itemSubjectRef="xsd:int">
    <extensionElements><flowable:value>7</flowable:value></extensionElements></dataObject>
  </subProcess>
"""


def test_data_objects_are_typed_as_flowable_reads_them(bpmn):
    """Flowable's ValuedDataObjectXMLConverter: the type from itemSubjectRef (no prefix:
    xsd:string), the value from <flowable:value>; an unknown type is skipped."""
    definitions = parse_bpmn(bpmn(DATA_OBJECTS))
    [problem] = definitions.problems
    assert problem.code is ProblemCode.INVALID_VALUE and problem.is_warning
    model = definitions.processes["p"]
    top = {d.name: (d.item_subject_ref, d.value) for d in model.data_objects[None]}
    assert top == {
        "StringTest": ("xsd:string", "Testing123"),
        "BooleanTest": ("xsd:boolean", True),
        "IntegerTest": ("xsd:int", -123),
        "LongTest": ("xsd:long", 9876543210),
        "DoubleTest": ("xsd:double", 150.0),
        "DateTest": ("xsd:datetime", "2013-09-16T11:23:00.000Z"),
        "NoValue": ("xsd:string", None),
    }
    assert [(d.id, d.value) for d in model.data_objects["sub"]] == [("d9", 7)]


@pytest.mark.parametrize(
    ("ref", "text"), [("xsd:int", "12.5"), ("xsd:int", "3000000000"), ("xsd:double", "x")]
)
def test_a_data_object_value_java_refuses_is_an_error(bpmn, ref, text):
    body = (
        f'<dataObject id="d" name="n" itemSubjectRef="{ref}"><extensionElements>'
        f"<flowable:value>{text}</flowable:value></extensionElements></dataObject>"
        '<startEvent id="s"/>'
    )
    [problem] = parse_bpmn(bpmn(body)).problems
    assert problem.code is ProblemCode.INVALID_VALUE and not problem.is_warning
