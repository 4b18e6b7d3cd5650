"""``service/definitions/naming.py``: Flowable's diagram image names, and stored records read
as the API shows them."""

from __future__ import annotations

from chalicelib.service.definitions.naming import generated_diagram_name, record_of, resource_base


def test_names_follow_flowable():
    assert resource_base("contractorOnboarding.bpmn20.xml") == "contractorOnboarding"
    assert resource_base("a.bpmn") == "a" and resource_base("a.xml") == "a.xml"
    assert (
        generated_diagram_name("contractorOnboarding.bpmn20.xml", "contractorOnboarding")
        == "contractorOnboarding.contractorOnboarding.png"
    )


def test_records_stored_without_the_name_get_it_when_they_have_diagram_interchange():
    old = {
        "key": "k",
        "resourceName": "file.bpmn20.xml",
        "graphicalNotationDefined": True,
        "processDiagramResourceName": None,
    }
    assert record_of(old)["processDiagramResourceName"] == "file.k.png"
    assert old["processDiagramResourceName"] is None  # the stored data is not changed
    bare = dict(old, graphicalNotationDefined=False)
    assert record_of(bare)["processDiagramResourceName"] is None
    shipped = dict(old, processDiagramResourceName="file.png")
    assert record_of(shipped)["processDiagramResourceName"] == "file.png"
