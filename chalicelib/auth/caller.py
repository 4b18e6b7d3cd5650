"""The authenticated caller: one object whichever way the credentials arrived."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["ADMIN_ROLE", "AUTHORIZED_ROLE", "REG_ROLE", "CallerSource", "Caller"]

#: May do everything (IDM's ``openidm-admin``).
ADMIN_ROLE = "internal/role/openidm-admin"
#: Every ordinary end user (IDM grants it to authenticated managed users).
AUTHORIZED_ROLE = "internal/role/openidm-authorized"
#: What ``anonymous``/``anonymous`` gets: no workflow rights at all.
REG_ROLE = "internal/role/openidm-reg"


class CallerSource(Enum):
    """How the caller proved who they are."""

    HEADERS = "headers"  # X-OpenIDM-Username / X-OpenIDM-Password
    BASIC = "basic"  # Authorization: Basic
    AUTHORIZER = "authorizer"  # API Gateway authorizer context (Cognito / JWT claims)


@dataclass(frozen=True)
class Caller:
    """Who is calling: a user id, roles and groups. Roles and groups are compared exactly."""

    user_id: str
    roles: frozenset[str]
    groups: frozenset[str]
    source: CallerSource

    def __post_init__(self) -> None:
        if not isinstance(self.user_id, str) or not self.user_id:
            raise ValueError("a caller needs a non-empty user id")
        if not isinstance(self.source, CallerSource):
            raise ValueError(f"unknown caller source {self.source!r}")
        # Accept any iterable of strings, store frozensets (the dataclass is frozen).
        for name in ("roles", "groups"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise ValueError(f"caller {name} must be a collection of strings, not a string")
            value = frozenset(value)
            if not all(isinstance(item, str) for item in value):
                raise ValueError(f"caller {name} must be strings")
            object.__setattr__(self, name, value)

    def has_role(self, role: str) -> bool:
        """Whether the caller holds ``role``."""
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        """Holds ``internal/role/openidm-admin``: may do everything."""
        return ADMIN_ROLE in self.roles

    @property
    def is_authorized(self) -> bool:
        """Holds ``internal/role/openidm-authorized``: an ordinary end user."""
        return AUTHORIZED_ROLE in self.roles

    @property
    def authz_strings(self) -> frozenset[str]:
        """Roles and groups together: what a task's candidate groups are compared against."""
        return self.roles | self.groups
