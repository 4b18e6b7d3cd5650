"""Which process definitions a caller may start: IDM's ``process-access.json``.

Format (the setting ``WORKFLOW_PROCESS_ACCESS_FILE`` names it)::

    {"workflowAccess": [
        {"propertiesCheck": {"property": "name",
                             "matches": "Contractor onboarding process",
                             "requiresRole": "employee"}}]}

A definition may be started by a caller who holds ``requiresRole`` of any entry whose ``matches``
regex matches the whole of ``str(definition[property])`` (Java's ``String.matches`` is a full
match, so ``re.fullmatch``). A missing or null property matches nothing; booleans read as
``true``/``false`` as in the JSON. Regexes are Python ``re`` syntax. Admins may start anything.
Without a file every definition is granted to ``internal/role/openidm-authorized``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..settings import Settings, SettingsError
from .caller import AUTHORIZED_ROLE, Caller

__all__ = ["ProcessAccessError", "AccessRule", "ProcessAccess", "load_process_access"]

_FIELDS = ("property", "matches", "requiresRole")


class ProcessAccessError(SettingsError):
    """The process-access file is unreadable or invalid: a deployment fault, reported loudly."""


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class AccessRule:
    """One ``propertiesCheck``: definitions whose ``property`` fully matches ``pattern``."""

    property: str
    pattern: re.Pattern
    requires_role: str

    def grants(self, caller: Caller, definition: Mapping[str, Any]) -> bool:
        """Whether this rule lets ``caller`` start ``definition``."""
        if self.requires_role not in caller.roles or not isinstance(definition, Mapping):
            return False
        text = _as_text(definition.get(self.property))
        return text is not None and self.pattern.fullmatch(text) is not None


def _rule_from_entry(entry: Any, index: int, source: str) -> AccessRule:
    where = f"Process access file {source}: workflowAccess[{index}]"
    if not isinstance(entry, dict) or set(entry) != {"propertiesCheck"}:
        raise ProcessAccessError(f'{where} must be {{"propertiesCheck": {{...}}}}')
    check = entry["propertiesCheck"]
    if not isinstance(check, dict):
        raise ProcessAccessError(f"{where}.propertiesCheck must be an object")
    for field in _FIELDS:
        value = check.get(field)
        if not isinstance(value, str) or (field != "matches" and not value.strip()):
            raise ProcessAccessError(
                f"{where}.propertiesCheck field '{field}' is missing or not a "
                f"{'string' if field == 'matches' else 'non-empty string'}"
            )
    unknown = sorted(set(check) - set(_FIELDS))
    if unknown:
        raise ProcessAccessError(
            f"{where}.propertiesCheck has unknown field(s) {', '.join(repr(u) for u in unknown)}"
        )
    try:
        pattern = re.compile(check["matches"])
    except re.error as exc:
        raise ProcessAccessError(
            f"{where}.propertiesCheck field 'matches' is not a valid regex "
            f"{check['matches']!r}: {exc}"
        ) from None
    return AccessRule(check["property"], pattern, check["requiresRole"])


class ProcessAccess:
    """The process-access rules: who may start (and so see) which definitions."""

    def __init__(self, rules: Iterable[AccessRule], *, source: str = "<memory>"):
        self.rules: tuple[AccessRule, ...] = tuple(rules)
        self.source = source

    @classmethod
    def default(cls) -> ProcessAccess:
        """Every definition granted to ``internal/role/openidm-authorized``."""
        return cls(
            [AccessRule("_id", re.compile(".*", re.DOTALL), AUTHORIZED_ROLE)], source="<default>"
        )

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<memory>") -> ProcessAccess:
        """Build from the parsed JSON document; ``ProcessAccessError`` when invalid."""
        if not isinstance(data, dict) or not isinstance(data.get("workflowAccess"), list):
            raise ProcessAccessError(
                f'Process access file {source}: expected {{"workflowAccess": [...]}}'
            )
        return cls(
            [_rule_from_entry(entry, i, source) for i, entry in enumerate(data["workflowAccess"])],
            source=source,
        )

    @classmethod
    def from_file(cls, path: str | Path) -> ProcessAccess:
        """Load and validate a process-access file."""
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProcessAccessError(
                f"Process access file {source} cannot be read: {exc}"
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProcessAccessError(
                f"Process access file {source} is not valid JSON: {exc}"
            ) from None
        return cls.from_dict(data, source=source)

    @classmethod
    def from_settings(cls, settings: Settings) -> ProcessAccess:
        """Same as ``load_process_access(settings)``."""
        return load_process_access(settings)

    def can_start(self, caller: Caller, definition: Mapping[str, Any]) -> bool:
        """Whether ``caller`` may start (and read) ``definition``. Admins: always."""
        if caller.is_admin:
            return True
        return any(rule.grants(caller, definition) for rule in self.rules)

    def startable(self, caller: Caller, definitions: Iterable[Mapping[str, Any]]) -> list:
        """The definitions ``caller`` may start, in their original order."""
        return [d for d in definitions if self.can_start(caller, d)]


def load_process_access(settings: Settings) -> ProcessAccess:
    """The rules the settings call for: ``process_access_file``, else the default."""
    if settings.process_access_file:
        return ProcessAccess.from_file(settings.process_access_file)
    return ProcessAccess.default()
