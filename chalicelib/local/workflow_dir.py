"""Deploy the ``workflow/`` directory at start, as IDM deploys its workflow directory.

* Every ``*.bpmn20.xml`` and ``*.bpmn`` file under the directory is one deployment, named after
  the file, with the forms its ``formKey``s name taken from files beside it (and a diagram image
  ``<name>.<key>.png`` when one is there), and every ``*.event`` and ``*.channel`` file of its
  directory (the event registry's definitions, ``service/definitions/event_registry.py``).
* Every ``*.bar`` archive (a zip of BPMN and form files) is one deployment of all its entries.
  Archives are read defensively: regular files only, no absolute or ``..`` paths, bounded entry
  count, entry size, total size and compression ratio (zip bombs), sizes checked while reading.
* Unchanged files are duplicates (``deployments.deploy`` compares a content hash with the
  file's latest deployment), so a restart adds no version.
* A file that cannot be deployed is logged with its problems and skipped; the rest still
  deploy and the service still starts.
"""

from __future__ import annotations

import logging
import stat
import zipfile
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePosixPath

from ..engine import BpmnSyntaxError, parse_bpmn
from ..errors import WorkflowError
from ..service.container import Services
from ..service.definitions.deploy import BPMN_SUFFIXES, deploy
from ..service.definitions.errors import InvalidDeployment

__all__ = [
    "Status",
    "Outcome",
    "ArchiveError",
    "deploy_directory",
    "read_archive",
    "MAX_ENTRIES",
    "MAX_ENTRY_BYTES",
    "MAX_TOTAL_BYTES",
    "MAX_RATIO",
]

log = logging.getLogger("workflow.deploy")

MAX_ENTRIES = 500
MAX_ENTRY_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 50 * 1024 * 1024
#: uncompressed / compressed size above which an entry (over 1 MB) is taken for a zip bomb
MAX_RATIO = 100
_RATIO_FLOOR = 1024 * 1024


class Status(Enum):
    """What happened to one file."""

    DEPLOYED = "deployed"
    DUPLICATE = "duplicate"
    INVALID = "invalid"


@dataclass
class Outcome:
    """The result of deploying one file of the directory."""

    name: str
    status: Status
    deployment_id: str | None = None
    definition_ids: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)


class ArchiveError(ValueError):
    """A ``.bar`` archive that is refused (unsafe or unreadable)."""


def _is_bpmn(name: str) -> bool:
    return name.lower().endswith(BPMN_SUFFIXES)


def _safe_name(name: str) -> str:
    path = PurePosixPath(name)
    if "\\" in name or path.is_absolute() or ".." in path.parts or ":" in name or not path.parts:
        raise ArchiveError(f"entry '{name}' has an unsafe path")
    return str(path)


def read_archive(path: Path) -> dict[str, bytes]:
    """The regular files of a zip archive by name; ``ArchiveError`` when it is refused."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ENTRIES:
                raise ArchiveError(f"more than {MAX_ENTRIES} entries")
            entries: dict[str, bytes] = {}
            total = 0
            for info in infos:
                if info.is_dir():
                    continue
                mode = (info.external_attr >> 16) & 0o170000
                if mode and mode != stat.S_IFREG:
                    raise ArchiveError(f"entry '{info.filename}' is not a regular file")
                name = _safe_name(info.filename)
                if name in entries:
                    raise ArchiveError(f"entry '{name}' appears twice")
                if info.file_size > MAX_ENTRY_BYTES:
                    raise ArchiveError(f"entry '{name}' is larger than {MAX_ENTRY_BYTES} bytes")
                if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(
                    info.compress_size, 1
                ):
                    raise ArchiveError(f"entry '{name}' expands more than {MAX_RATIO} times")
                with archive.open(info) as stream:
                    data = stream.read(MAX_ENTRY_BYTES + 1)
                if len(data) > MAX_ENTRY_BYTES:
                    raise ArchiveError(f"entry '{name}' is larger than {MAX_ENTRY_BYTES} bytes")
                total += len(data)
                if total > MAX_TOTAL_BYTES:
                    raise ArchiveError(f"the entries hold more than {MAX_TOTAL_BYTES} bytes")
                entries[name] = data
            return entries
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, RuntimeError) as exc:
        raise ArchiveError(f"not a readable zip archive: {exc}") from None


def _text(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ArchiveError(f"'{name}' is not UTF-8 text") from None


def _beside(root: Path, bpmn_file: Path, name: str) -> bytes | None:
    """The file ``name`` in the BPMN file's directory, if it is a regular file inside root."""
    candidate = bpmn_file.parent / name
    try:
        resolved = candidate.resolve()
        resolved.relative_to(root.resolve())
    except (OSError, ValueError):
        return None
    if (
        candidate.is_symlink()
        or not candidate.is_file()
        or candidate.stat().st_size > MAX_ENTRY_BYTES
    ):
        return None
    return candidate.read_bytes()


def _file_contents(root: Path, file: Path) -> tuple[dict[str, str], dict[str, bytes]]:
    text = _text(file.name, file.read_bytes())
    resources: dict[str, bytes] = {}
    try:
        definitions = parse_bpmn(text, resource_name=file.name)
    except BpmnSyntaxError:
        return {file.name: text}, resources  # deploy reports the syntax error
    wanted = list(definitions.form_keys())
    stem = file.name
    for suffix in BPMN_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    for key in definitions.processes:
        wanted.append(f"{stem}.{key}.png")
    for sibling in sorted(file.parent.iterdir()):  # the event registry's definitions
        if sibling.name.lower().endswith((".event", ".channel")):
            wanted.append(sibling.name)
    for name in wanted:
        data = _beside(root, file, name)
        if data is not None:
            resources[name] = data
    return {file.name: text}, resources


def _archive_contents(file: Path) -> tuple[dict[str, str], dict[str, bytes]]:
    entries = read_archive(file)
    bpmn = {name: _text(name, data) for name, data in entries.items() if _is_bpmn(name)}
    if not bpmn:
        raise ArchiveError("the archive holds no BPMN file (*.bpmn20.xml, *.bpmn)")
    return bpmn, {name: data for name, data in entries.items() if name not in bpmn}


def _deploy_file(container: Services, root: Path, file: Path) -> Outcome:
    name = file.relative_to(root).as_posix()
    try:
        if file.suffix.lower() == ".bar":
            bpmn, resources = _archive_contents(file)
        else:
            bpmn, resources = _file_contents(root, file)
        result = deploy(
            container, source=f"file:{name}", name=file.name, bpmn=bpmn, resources=resources
        )
    except InvalidDeployment as exc:
        problems = [
            f"line {e.get('xmlLineNumber')}, column {e.get('xmlColumnNumber')}: "
            f"{e.get('defaultDescription')}"
            for e in (exc.detail or {}).get("errors", [])
        ]
        return Outcome(name, Status.INVALID, problems=problems)
    except (ArchiveError, WorkflowError, OSError) as exc:
        return Outcome(name, Status.INVALID, problems=[str(exc)])
    status = Status.DUPLICATE if result.duplicate else Status.DEPLOYED
    return Outcome(name, status, result.deployment_id, result.definition_ids)


def deploy_directory(path: str | Path, container: Services | None = None) -> list[Outcome]:
    """Deploy every BPMN file and ``.bar`` archive under ``path``; returns one outcome per file.

    Never raises for a bad file (it is logged and skipped); a missing directory deploys nothing.
    """
    if container is None:
        from ..bootstrap import get_container

        container = get_container()
    root = Path(path)
    if not root.is_dir():
        log.info("workflow directory %s not found: nothing to deploy", root)
        return []
    outcomes: list[Outcome] = []
    for file in sorted(root.rglob("*")):
        if file.is_symlink() or not file.is_file():
            continue
        if not (_is_bpmn(file.name) or file.suffix.lower() == ".bar"):
            continue
        outcome = _deploy_file(container, root, file)
        outcomes.append(outcome)
        if outcome.status is Status.INVALID:
            log.warning(
                "workflow/%s not deployed: %s",
                outcome.name,
                "; ".join(outcome.problems) or "invalid",
            )
        else:
            log.info(
                "workflow/%s %s: %s",
                outcome.name,
                outcome.status.value,
                ", ".join(outcome.definition_ids),
            )
    return outcomes
