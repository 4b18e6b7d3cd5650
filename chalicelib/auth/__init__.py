"""Authentication and authorization (DECISIONS.md "Authentication and authorization").

Pure: no AWS or web-framework imports. The HTTP layer passes headers and the authorizer context
as plain dicts to ``Authenticator.authenticate`` and asks ``Policy.authorize`` before acting.

Names are imported lazily (PEP 562) so ``python -m chalicelib.auth.passwords`` runs the CLI
without the package having imported that module first.
"""

from __future__ import annotations

from chalicelib.lazy import lazy_exports

_EXPORTS = {
    "passwords": (
        "ALGORITHM",
        "DEFAULT_ITERATIONS",
        "PasswordHash",
        "hash_password",
        "verify_password",
        "parse_password_hash",
        "looks_like_password_hash",
    ),
    "caller": ("ADMIN_ROLE", "AUTHORIZED_ROLE", "REG_ROLE", "CallerSource", "Caller"),
    "users": ("BUILTIN_USERS_FILE", "UsersFileError", "User", "UserStore", "load_user_store"),
    "authenticate": (
        "CredentialCache",
        "Authenticator",
        "decode_rfc5987",
        "parse_basic",
        "caller_from_authorizer",
        "USER_ID_CLAIMS",
        "ROLE_CLAIMS",
        "GROUP_CLAIMS",
    ),
    "access": ("ProcessAccessError", "AccessRule", "ProcessAccess", "load_process_access"),
    "rules": (
        "RESOURCES",
        "UNASSIGNED_TASK_QUERY",
        "Gate",
        "Operation",
        "Predicate",
        "Rule",
        "Policy",
        "subject",
        "is_assignee",
        "is_candidate",
        "can_update_task",
        "may_start",
        "default_policy",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__getattr__, __dir__, __all__ = lazy_exports(__name__, globals(), _MODULE_OF)
