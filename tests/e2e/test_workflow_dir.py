"""``workflow/`` deployed at start: the directory service in-process, then the real launcher."""

from __future__ import annotations

import logging
import zipfile

import pytest

from chalicelib.local.workflow_dir import (
    MAX_ENTRY_BYTES,
    ArchiveError,
    Status,
    deploy_directory,
    read_archive,
)
from chalicelib.service.definitions import cache as definitions
from tests.support.launcher import WF, call, free_port, launched_process, moto_server
from tests.support.rest import ADMIN, simple_bpmn


def _bar(path, entries: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def test_directory_with_forms_archives_and_a_bad_file(container, tmp_path, caplog):
    (tmp_path / "alpha.bpmn20.xml").write_text(simple_bpmn(key="alpha"))
    (tmp_path / "form.js").write_text("{ name: 'alpha form' }")
    (tmp_path / "broken.bpmn").write_text(
        simple_bpmn(key="broken").replace('targetRef="end"', 'targetRef="missing"')
    )
    nested = tmp_path / "more"
    nested.mkdir()
    _bar(
        nested / "pack.bar",
        {
            "beta.bpmn20.xml": simple_bpmn(key="beta", form="forms/b.js").encode(),
            "forms/b.js": b"{ name: 'beta form' }",
        },
    )
    (tmp_path / "notes.txt").write_text("ignored")
    with caplog.at_level(logging.INFO, logger="workflow.deploy"):
        outcomes = {o.name: o for o in deploy_directory(tmp_path, container)}
    assert set(outcomes) == {"alpha.bpmn20.xml", "broken.bpmn", "more/pack.bar"}
    assert outcomes["broken.bpmn"].status is Status.INVALID
    assert "line" in outcomes["broken.bpmn"].problems[0]
    assert "broken.bpmn not deployed" in caplog.text and "line" in caplog.text
    alpha = definitions.get_definition(container, outcomes["alpha.bpmn20.xml"].definition_ids[0])
    assert alpha.forms == {"form.js": "{ name: 'alpha form' }"}
    beta = definitions.get_definition(container, outcomes["more/pack.bar"].definition_ids[0])
    assert beta.forms == {"forms/b.js": "{ name: 'beta form' }"}
    assert beta.record["resourceName"] == "beta.bpmn20.xml"

    again = {o.name: o for o in deploy_directory(tmp_path, container)}
    assert again["alpha.bpmn20.xml"].status is Status.DUPLICATE
    assert again["alpha.bpmn20.xml"].definition_ids == outcomes["alpha.bpmn20.xml"].definition_ids
    assert again["more/pack.bar"].status is Status.DUPLICATE
    (tmp_path / "form.js").write_text("{ name: 'alpha form, edited' }")
    edited = {o.name: o for o in deploy_directory(tmp_path, container)}
    assert edited["alpha.bpmn20.xml"].status is Status.DEPLOYED
    assert edited["alpha.bpmn20.xml"].definition_ids[0].startswith("alpha:2:")


def test_missing_directory_deploys_nothing(container, tmp_path):
    assert deploy_directory(tmp_path / "absent", container) == []


def test_form_outside_the_directory_is_not_read(container, tmp_path):
    root = tmp_path / "workflow"
    root.mkdir()
    (tmp_path / "secret.js").write_text("secret")
    (root / "alpha.bpmn20.xml").write_text(simple_bpmn(key="alpha", form="../secret.js"))
    (outcome,) = deploy_directory(root, container)
    assert outcome.status is Status.DEPLOYED
    assert definitions.get_definition(container, outcome.definition_ids[0]).forms == {}


def test_zip_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.bar"
    _bar(path, {"a.bpmn20.xml": b"0" * (MAX_ENTRY_BYTES - 1)})
    with pytest.raises(ArchiveError, match="expands"):
        read_archive(path)


def test_path_traversal_and_links_are_refused(tmp_path):
    traversal = tmp_path / "traversal.bar"
    _bar(traversal, {"../evil.bpmn20.xml": b"<x/>"})
    with pytest.raises(ArchiveError, match="unsafe"):
        read_archive(traversal)
    link = tmp_path / "link.bar"
    with zipfile.ZipFile(link, "w") as archive:
        info = zipfile.ZipInfo("a.bpmn20.xml")
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(ArchiveError, match="regular file"):
        read_archive(link)
    garbage = tmp_path / "garbage.bar"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(ArchiveError, match="zip"):
        read_archive(garbage)


def test_bad_archive_is_skipped_and_others_deploy(container, tmp_path):
    _bar(tmp_path / "a.bar", {"../x.bpmn": b"<x/>"})
    (tmp_path / "b.bpmn").write_text(simple_bpmn(key="bee"))
    outcomes = {o.name: o.status for o in deploy_directory(tmp_path, container)}
    assert outcomes == {"a.bar": Status.INVALID, "b.bpmn": Status.DEPLOYED}


def test_archive_reads_entries_by_name(tmp_path):
    buffer = tmp_path / "ok.bar"
    _bar(buffer, {"dir/": b"", "p.bpmn": b"<x/>", "forms/f.js": b"{}"})
    assert read_archive(buffer) == {"p.bpmn": b"<x/>", "forms/f.js": b"{}"}


# --- the launcher, started twice on one persistent backend -------------------------------------


def test_launcher_deploys_workflow_dir_once_across_restarts(tmp_path):
    """``make run`` deploys ``workflow/``: the seed's curl lists the sample; a restart on the
    same backend with the same files adds no version."""
    seen = []
    with moto_server() as endpoint:
        for run in range(2):
            port = free_port()
            log_path = tmp_path / f"run{run}.log"
            with launched_process(log_path, PORT=str(port), AWS_ENDPOINT_URL=endpoint):
                status, _, data = call(
                    f"http://127.0.0.1:{port}{WF}/processdefinition?_queryId=query-all-ids",
                    headers=ADMIN,
                )
                assert status == 200, data
                seen.append([item["_id"] for item in data["result"]])
    first, second = seen
    sample = [i for i in first if i.startswith("accessRequest:")]
    assert len(sample) == 1 and sample[0].startswith("accessRequest:1:")
    assert second == first
