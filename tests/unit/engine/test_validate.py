"""validate: structural problems, unsupported constructs (with their lines), expressions."""

from __future__ import annotations

import pytest

from chalicelib.engine.parser import parse_bpmn
from chalicelib.engine.problems import ProblemCode as P
from chalicelib.engine.validate import validate, validate_bpmn

START = '<startEvent id="start"/>\n<sequenceFlow id="f0" sourceRef="start" targetRef="x"/>\n'
END = '\n<sequenceFlow id="f9" sourceRef="x" targetRef="end"/>\n<endEvent id="end"/>'


def check(xml: str):
    """(errors, warnings) of a document."""
    problems = validate(parse_bpmn(xml))
    return ([p for p in problems if not p.is_warning], [p for p in problems if p.is_warning])


def single_error(xml: str, code: P):
    errors, _ = check(xml)
    assert [e.code for e in errors] == [code], [(e.code, e.description) for e in errors]
    return errors[0]


def test_minimal_valid_process(bpmn):
    errors, warnings = check(bpmn(START + '<userTask id="x" flowable:assignee="kermit"/>' + END))
    assert errors == [] and warnings == []


# --- constructs we do not run: one error each, on the element's own line ----------------

UNSUPPORTED = [
    (
        '<scriptTask id="x" scriptFormat="groovy"><script>1</script></scriptTask>',
        P.UNSUPPORTED_SCRIPT_LANGUAGE,
        "groovy",
    ),
    (
        '<scriptTask id="x" scriptFormat="python"><script>1</script></scriptTask>',
        P.UNSUPPORTED_SCRIPT_LANGUAGE,
        "python",
    ),
    (
        '<scriptTask id="x"><script>1</script></scriptTask>',
        P.SCRIPT_LANGUAGE_MISSING,
        "scriptFormat",
    ),
    (
        '<serviceTask id="x" flowable:class="com.acme.Delegate"/>',
        P.UNSUPPORTED_JAVA_CLASS,
        "com.acme.Delegate",
    ),
    ('<serviceTask id="x" activiti:class="com.acme.Delegate"/>', P.UNSUPPORTED_JAVA_CLASS, "Java"),
    (
        '<serviceTask id="x" flowable:type="mail"><extensionElements>'
        '<flowable:field name="to" stringValue="a@example.com"/></extensionElements></serviceTask>',
        P.MAIL_TASK_NO_CONTENT,
        "text",
    ),
    (
        '<serviceTask id="x" flowable:type="mail"><extensionElements>'
        '<flowable:field name="text" stringValue="hi"/></extensionElements></serviceTask>',
        P.MAIL_TASK_NO_RECIPIENT,
        "to, cc or bcc",
    ),
    (
        '<serviceTask id="x" flowable:type="http"><extensionElements>'
        '<flowable:field name="requestMethod" stringValue="GET"/></extensionElements></serviceTask>',
        P.HTTP_TASK_NO_URL,
        "requestUrl",
    ),
    (
        '<serviceTask id="x" flowable:type="http"><extensionElements>'
        '<flowable:field name="requestUrl" stringValue="https://a.example/"/></extensionElements>'
        "</serviceTask>",
        P.HTTP_TASK_NO_METHOD,
        "requestMethod",
    ),
    (
        '<serviceTask id="x" flowable:type="http"><extensionElements>'
        '<flowable:field name="requestMethod" stringValue="GET"/>'
        '<flowable:field name="requestUrl" stringValue="https://a.example/"/>'
        '<flowable:field name="httpActivityBehaviorClass" stringValue="com.acme.X"/>'
        "</extensionElements></serviceTask>",
        P.UNSUPPORTED_TASK_TYPE,
        "httpActivityBehaviorClass",
    ),
    ('<serviceTask id="x" flowable:type="external-worker"/>', P.EXTERNAL_WORKER_NO_TOPIC, "topic"),
    ('<serviceTask id="x" flowable:type="camel"/>', P.UNSUPPORTED_TASK_TYPE, "camel"),
    ('<serviceTask id="x" flowable:type="shell"/>', P.UNSUPPORTED_TASK_TYPE, "shell"),
    ('<sendTask id="x"/>', P.UNSUPPORTED_TASK_TYPE, "send tasks"),
    (
        '<sendTask id="x" flowable:type="mail"><extensionElements>'
        '<flowable:field name="html" stringValue="hi"/></extensionElements></sendTask>',
        P.MAIL_TASK_NO_RECIPIENT,
        "to, cc or bcc",
    ),
    ('<businessRuleTask id="x"/>', P.UNSUPPORTED_ELEMENT, "business rule"),
    ('<complexGateway id="x"/>', P.UNSUPPORTED_ELEMENT, "complex gateway"),
    ('<adHocSubProcess id="x"><task id="in"/></adHocSubProcess>', P.UNSUPPORTED_ELEMENT, "ad-hoc"),
    (
        '<intermediateCatchEvent id="x"><conditionalEventDefinition><condition>${a}</condition>'
        "</conditionalEventDefinition></intermediateCatchEvent>",
        P.UNSUPPORTED_EVENT,
        "conditional",
    ),
    (
        '<intermediateThrowEvent id="x"><linkEventDefinition name="L"/></intermediateThrowEvent>',
        P.UNSUPPORTED_EVENT,
        "link",
    ),
    (
        '<intermediateThrowEvent id="x"><compensateEventDefinition/></intermediateThrowEvent>',
        P.UNSUPPORTED_EVENT,
        "compensation",
    ),
    (
        '<intermediateThrowEvent id="x"><messageEventDefinition messageRef="m"/>'
        "</intermediateThrowEvent>",
        P.EVENT_DEFINITION_NOT_HERE,
        "message",
    ),
    ('<task id="x"><standardLoopCharacteristics/></task>', P.UNSUPPORTED_ELEMENT, "standard loop"),
    (
        '<serviceTask id="x" flowable:expression="${x.getClass().forName(\'a\')}"/>',
        P.UNSUPPORTED_JAVA_EXPRESSION,
        "getClass",
    ),
    (
        '<serviceTask id="x" flowable:expression="${java.lang.Runtime}"/>',
        P.UNSUPPORTED_JAVA_EXPRESSION,
        "java.lang",
    ),
    (
        '<userTask id="x"><extensionElements><flowable:taskListener event="create" '
        'class="com.acme.L"/></extensionElements></userTask>',
        P.UNSUPPORTED_JAVA_CLASS,
        "listener",
    ),
]


@pytest.mark.parametrize("element, code, fragment", UNSUPPORTED)
def test_unsupported_construct_is_an_error_on_its_line(bpmn, line, element, code, fragment):
    xml = bpmn(START + element + END, declarations='<message id="m" name="m"/>')
    error = single_error(xml, code)
    assert error.activity_id == "x"
    assert error.process_key == "p"
    assert error.line == line(xml, 'id="x"')
    assert error.column > 0
    assert fragment in error.description


def test_transaction_and_cancel_events_are_errors(bpmn, line):
    body = (
        START + '<transaction id="x">\n<startEvent id="ts"/>\n'
        '<sequenceFlow id="tf" sourceRef="ts" targetRef="te"/>\n'
        '<endEvent id="te"><cancelEventDefinition/></endEvent>\n</transaction>\n'
        '<boundaryEvent id="cb" attachedToRef="x"><cancelEventDefinition/></boundaryEvent>' + END
    )
    xml = bpmn(body)
    errors, _ = check(xml)
    found = {(e.code, e.activity_id, e.line) for e in errors}
    assert found == {
        (P.UNSUPPORTED_ELEMENT, "x", line(xml, '<transaction id="x">')),
        (P.UNSUPPORTED_EVENT, "te", line(xml, '<endEvent id="te">')),
        (P.UNSUPPORTED_EVENT, "cb", line(xml, '<boundaryEvent id="cb"')),
    }


def test_compensation_boundary_and_handler_are_errors(bpmn):
    body = (
        START + '<serviceTask id="x" flowable:expression="${a}"/>\n'
        '<boundaryEvent id="cb" attachedToRef="x"><compensateEventDefinition/>'
        '</boundaryEvent>\n<serviceTask id="undo" isForCompensation="true" '
        'flowable:expression="${b}"/>' + END
    )
    errors, _ = check(bpmn(body))
    assert {(e.code, e.activity_id) for e in errors} == {
        (P.UNSUPPORTED_EVENT, "cb"),
        (P.UNSUPPORTED_ELEMENT, "undo"),
    }


@pytest.mark.parametrize("language", ["javascript", "JavaScript", "js", "ecmascript"])
def test_javascript_scripts_are_accepted(bpmn, language):
    xml = bpmn(
        START + f'<scriptTask id="x" scriptFormat="{language}"><script>var a = 1;'
        "</script></scriptTask>" + END
    )
    assert check(xml) == ([], [])


def test_juel_script_is_syntax_checked(bpmn):
    ok = bpmn(
        START + '<scriptTask id="x" scriptFormat="juel"><script>${echo}</script></scriptTask>' + END
    )
    assert check(ok) == ([], [])
    bad = ok.replace("${echo}", "${echo +}")
    assert single_error(bad, P.EXPRESSION_SYNTAX).activity_id == "x"


# --- unsupported constructs in a non-executable process are warnings ----------------------


def test_non_executable_process_only_warns(bpmn):
    declarations = ""
    body = START + '<scriptTask id="x" scriptFormat="groovy"><script>1</script></scriptTask>' + END
    xml = bpmn(body, declarations=declarations, executable=False)
    errors, warnings = check(xml)
    assert [e.code for e in errors] == [P.NO_EXECUTABLE_PROCESS]
    assert {w.code for w in warnings} == {P.PROCESS_NOT_EXECUTABLE, P.UNSUPPORTED_SCRIPT_LANGUAGE}


def test_one_executable_process_beside_a_non_executable_one_is_valid(bpmn):
    extra = (
        '<process id="other" isExecutable="false"><task id="lonely"/>'
        '<scriptTask id="g" scriptFormat="groovy"><script>1</script></scriptTask>'
        "</process>"
    )
    xml = bpmn(START + '<task id="x"/>' + END, declarations=extra)
    errors, warnings = check(xml)
    assert errors == []
    assert {w.code for w in warnings} >= {
        P.PROCESS_NOT_EXECUTABLE,
        P.NO_START_EVENT,
        P.UNSUPPORTED_SCRIPT_LANGUAGE,
    }


# --- structure ---------------------------------------------------------------------------


def test_no_start_event(bpmn):
    error = single_error(bpmn('<task id="x"/>'), P.NO_START_EVENT)
    assert error.activity_id is None and error.process_key == "p"


def test_flows_to_and_from_unknown_elements(bpmn, line):
    xml = bpmn(
        START + '<task id="x"/>\n<sequenceFlow id="bad" sourceRef="ghost" targetRef="nowhere"/>'
    )
    errors, _ = check(xml)
    assert {(e.code, e.activity_id, e.line) for e in errors} == {
        (P.FLOW_INVALID_SOURCE, "bad", line(xml, 'id="bad"')),
        (P.FLOW_INVALID_TARGET, "bad", line(xml, 'id="bad"')),
    }


def test_flow_crossing_a_sub_process_boundary(bpmn):
    xml = bpmn(
        START + '<subProcess id="x"><startEvent id="ss"/><task id="inner"/>'
        '<sequenceFlow id="sf" sourceRef="ss" targetRef="inner"/></subProcess>'
        '<sequenceFlow id="cross" sourceRef="inner" targetRef="end"/>' + END
    )
    assert single_error(xml, P.FLOW_CROSSES_SCOPE).activity_id == "cross"


def test_duplicate_ids_are_errors(bpmn, line):
    xml = bpmn(START + '<task id="x"/>\n<task id="x"/>' + END)
    error = single_error(xml, P.DUPLICATE_ID)
    assert error.line == line(xml, '<task id="x"/>') + 1


def test_unreachable_node_is_a_warning(bpmn):
    errors, warnings = check(bpmn(START + '<task id="x"/>\n<task id="island"/>' + END))
    assert errors == []
    assert [(w.code, w.activity_id) for w in warnings] == [(P.UNREACHABLE, "island")]


def test_gateway_without_outgoing_flow(bpmn):
    xml = bpmn(START + '<exclusiveGateway id="x"/>')
    assert single_error(xml, P.GATEWAY_NO_OUTGOING).activity_id == "x"


def test_default_flow_must_be_outgoing(bpmn):
    xml = bpmn(START + '<exclusiveGateway id="x" default="f0"/>' + END)
    assert single_error(xml, P.DEFAULT_FLOW_NOT_OUTGOING).activity_id == "x"


def test_default_flow_with_condition(bpmn):
    xml = bpmn(
        START + '<exclusiveGateway id="x" default="f9"/>'
        '<sequenceFlow id="f9" sourceRef="x" targetRef="end"><conditionExpression>'
        '${a}</conditionExpression></sequenceFlow><endEvent id="end"/>'
    )
    assert single_error(xml, P.CONDITION_ON_DEFAULT_FLOW).activity_id == "f9"


def test_boundary_event_on_unknown_activity(bpmn):
    xml = bpmn(
        START + '<task id="x"/>\n<boundaryEvent id="b" attachedToRef="ghost">'
        "<timerEventDefinition><timeDuration>PT1M</timeDuration></timerEventDefinition>"
        "</boundaryEvent>" + END
    )
    assert single_error(xml, P.BOUNDARY_NO_ATTACHMENT).activity_id == "b"


@pytest.mark.parametrize(
    "timer, code",
    [
        ("", P.TIMER_MISSING),
        ("<timeDate></timeDate>", P.TIMER_MISSING),
        ("<timeDuration>5 minutes</timeDuration>", P.TIMER_INVALID),
        ("<timeDate>tomorrow</timeDate>", P.TIMER_INVALID),
        ("<timeCycle>R3/PTXM</timeCycle>", P.TIMER_INVALID),
        ("<timeCycle>0 0/5 * *</timeCycle>", P.TIMER_INVALID),
        ("<timeCycle>0 0/5 * * * ?</timeCycle>", None),
        ("<timeCycle>R2/2021-07-01T19:22:00Z/P1D</timeCycle>", None),
        ("<timeDuration>${delay}</timeDuration>", None),
        ("<timeDuration>${delay +}</timeDuration>", P.EXPRESSION_SYNTAX),
    ],
)
def test_timer_values(bpmn, line, timer, code):
    xml = bpmn(
        START + '<intermediateCatchEvent id="x">\n<timerEventDefinition>'
        f"{timer}</timerEventDefinition></intermediateCatchEvent>" + END
    )
    errors, _ = check(xml)
    assert [e.code for e in errors] == ([code] if code else [])
    if code:
        assert errors[0].line == line(xml, "<timerEventDefinition>")


def test_message_and_signal_refs_must_be_declared(bpmn):
    xml = bpmn(
        '<startEvent id="start"><messageEventDefinition messageRef="nope"/></startEvent>'
        '<sequenceFlow id="f0" sourceRef="start" targetRef="x"/>'
        '<intermediateCatchEvent id="x"><signalEventDefinition/></intermediateCatchEvent>' + END
    )
    errors, _ = check(xml)
    assert {(e.code, e.activity_id) for e in errors} == {
        (P.MESSAGE_REF_INVALID, "start"),
        (P.SIGNAL_REF_MISSING, "x"),
    }


def test_call_activity_needs_called_element(bpmn):
    xml = bpmn(START + '<callActivity id="x"/>' + END)
    assert single_error(xml, P.CALLED_ELEMENT_MISSING).activity_id == "x"


def test_multi_instance_needs_cardinality_or_collection(bpmn, line):
    xml = bpmn(
        START + '<userTask id="x">\n<multiInstanceLoopCharacteristics isSequential="true"/>'
        "</userTask>" + END
    )
    error = single_error(xml, P.MULTI_INSTANCE_MISSING)
    assert error.line == line(xml, "<multiInstanceLoopCharacteristics")


def test_service_task_needs_an_implementation(bpmn):
    xml = bpmn(START + '<serviceTask id="x"/>' + END)
    assert single_error(xml, P.SERVICE_IMPLEMENTATION_MISSING).activity_id == "x"


# --- expressions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attributes",
    [
        'flowable:assignee="${a +}"',
        'flowable:owner="${"',
        'flowable:candidateUsers="a, ${b c}"',
        'flowable:candidateGroups="${(g}"',
        'flowable:priority="${p p}"',
        'flowable:dueDate="${d ?}"',
        'flowable:formKey="${k.}"',
    ],
)
def test_user_task_expression_syntax_errors(bpmn, attributes):
    xml = bpmn(START + f'<userTask id="x" {attributes}/>' + END)
    assert single_error(xml, P.EXPRESSION_SYNTAX).activity_id == "x"


def test_condition_syntax_error_and_literal_condition(bpmn, line):
    xml = bpmn(
        START + '<exclusiveGateway id="x"/>\n'
        '<sequenceFlow id="c1" sourceRef="x" targetRef="end"><conditionExpression>'
        "${a ==}</conditionExpression></sequenceFlow>\n"
        '<sequenceFlow id="c2" sourceRef="x" targetRef="end"><conditionExpression>'
        'a == 1</conditionExpression></sequenceFlow>\n<endEvent id="end"/>'
    )
    errors, _ = check(xml)
    assert [(e.code, e.activity_id, e.line) for e in errors] == [
        (P.EXPRESSION_SYNTAX, "c1", line(xml, 'id="c1"')),
        (P.CONDITION_NOT_EXPRESSION, "c2", line(xml, 'id="c2"')),
    ]


def test_groovy_condition_language_is_refused(bpmn):
    xml = bpmn(
        START + '<exclusiveGateway id="x"/><sequenceFlow id="c1" sourceRef="x" '
        'targetRef="end"><conditionExpression language="groovy">a == 1'
        '</conditionExpression></sequenceFlow><endEvent id="end"/>'
    )
    assert single_error(xml, P.UNSUPPORTED_EXPRESSION_LANGUAGE).activity_id == "c1"


def test_form_property_and_listener_expressions(bpmn, line):
    xml = bpmn(
        START + '<userTask id="x"><extensionElements>\n'
        '<flowable:formProperty id="a" expression="${a b}"/>\n'
        '<flowable:executionListener event="start" expression="${l(}"/>\n'
        '<flowable:taskListener event="create"/>\n'
        "</extensionElements></userTask>" + END
    )
    errors, _ = check(xml)
    assert [(e.code, e.line) for e in errors] == [
        (P.EXPRESSION_SYNTAX, line(xml, "formProperty")),
        (P.EXPRESSION_SYNTAX, line(xml, "executionListener")),
        (P.LISTENER_IMPLEMENTATION_MISSING, line(xml, "taskListener")),
    ]


def test_priority_must_be_an_integer(bpmn):
    xml = bpmn(START + '<userTask id="x" flowable:priority="high"/>' + END)
    assert single_error(xml, P.INVALID_VALUE).activity_id == "x"


def test_report_shape_and_sorting(bpmn):
    xml = bpmn(
        START + '<scriptTask id="x" name="Groovy!" scriptFormat="groovy"><script>1'
        '</script></scriptTask>\n<task id="island"/>' + END
    )
    report = validate_bpmn(xml)
    body = report.to_json()
    assert body["valid"] is False
    assert body["errors"][0] == {
        "problem": "bpmn-unsupported-script-language",
        "defaultDescription": body["errors"][0]["defaultDescription"],
        "activityId": "x",
        "activityName": "Groovy!",
        "processDefinitionId": "p",
        "xmlLineNumber": 11,
        "xmlColumnNumber": 1,
        "isWarning": False,
    }
    assert body["warnings"][0]["activityId"] == "island"
    assert body["warnings"][0]["isWarning"] is True
