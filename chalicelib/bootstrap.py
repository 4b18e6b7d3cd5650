"""The composition root: builds the real (or fake) adapters once per container.

Handlers ask ``get_container()`` for what they need. Nothing here runs at import time; the
Lambda entry point may call ``warm()`` during the cold start (INIT is the cheapest place to
create clients), and tests install their own container with ``set_container``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .clock import Clock, SystemClock
from .settings import SECRET_READER, Settings, get_settings

if TYPE_CHECKING:  # the adapters are imported when built, not when this module is
    from .auth.access import ProcessAccess
    from .auth.authenticate import Authenticator
    from .auth.rules import Policy
    from .auth.users import UserStore
    from .messaging.mail import Mailer
    from .messaging.notify import Notifier
    from .messaging.ports import Publisher
    from .storage.ports import ItemStore

__all__ = [
    "Container",
    "get_container",
    "set_container",
    "reset_container",
    "build_container",
    "warm",
    "USERS_PARAMETER_PREFIX",
    "load_users",
]

#: a ``WORKFLOW_USERS_FILE`` of ``ssm:<name>`` names an SSM parameter (SecureString, decrypted)
#: holding the users file's JSON, read once per container
USERS_PARAMETER_PREFIX = "ssm:"


@dataclass
class Container:
    """Everything a handler needs, built once per container."""

    settings: Settings
    clock: Clock
    store: ItemStore
    publisher: Publisher
    authenticator: Authenticator
    policy: Policy
    process_access: ProcessAccess
    #: the mail tasks' sender (SES; its client is built on first use)
    mailer: Mailer
    #: outbound sns and eventbridge channels' publisher (clients built on first use)
    notifier: Notifier
    #: per-container caches and test hooks, by name
    extras: dict[str, Any] = field(default_factory=dict)


_container: Container | None = None
_lock = threading.Lock()


def build_container(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    store: ItemStore | None = None,
    publisher: Publisher | None = None,
    mailer: Mailer | None = None,
    notifier: Notifier | None = None,
) -> Container:
    """Build the container from settings; pass ``store``/``publisher``/``mailer`` to use
    fakes."""
    from .auth import Authenticator, ProcessAccess, default_policy

    settings = settings or get_settings()
    clock = clock or SystemClock()
    if store is None:
        from .aws import moto_lock
        from .storage.dynamo import DynamoStore

        lock = moto_lock() if settings.backend == "moto" else contextlib.nullcontext()
        store = DynamoStore(settings, lock=lock)
    if publisher is None:
        from .messaging.sqs import SqsPublisher

        publisher = SqsPublisher(settings)
    if mailer is None:
        from .messaging.ses import SesMailer

        mailer = SesMailer(settings)
    if notifier is None:
        from .messaging.aws_notify import AwsNotifier

        notifier = AwsNotifier(settings)
    users = load_users(settings)
    access = ProcessAccess.from_settings(settings)
    authenticator = Authenticator(
        users,
        cache_seconds=settings.credential_cache_seconds,
        clock=clock,
        trust_authorizer=settings.trust_authorizer,
    )
    built = Container(
        settings=settings,
        clock=clock,
        store=store,
        publisher=publisher,
        authenticator=authenticator,
        policy=default_policy(access),
        process_access=access,
        mailer=mailer,
        notifier=notifier,
    )
    built.extras[SECRET_READER] = lambda name: read_secure_parameter(settings, name)
    return built


def read_secure_parameter(settings: Settings, name: str) -> str:
    """The decrypted value of the SSM parameter ``name`` (an HTTP task's ``ssm:`` secret);
    ``LookupError`` naming the parameter (never a value) when it cannot be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    from . import aws

    client = aws.client("ssm", settings.region, settings.endpoint_url)
    try:
        reply = client.get_parameter(Name=name, WithDecryption=True)
    except (BotoCoreError, ClientError) as exc:
        raise LookupError(f"SSM parameter {name} cannot be read: {type(exc).__name__}") from None
    return str(reply["Parameter"]["Value"])


def load_users(settings: Settings, *, ssm: Any = None) -> UserStore:
    """The user store of ``settings``: ``UserStore.from_settings``, or the SSM parameter that
    ``WORKFLOW_USERS_FILE=ssm:<name>`` names (``UsersFileError`` when it cannot be read)."""
    from .auth import UsersFileError, UserStore

    reference = settings.users_file or ""
    if not reference.startswith(USERS_PARAMETER_PREFIX):
        return UserStore.from_settings(settings)
    from botocore.exceptions import BotoCoreError, ClientError

    from . import aws

    name = reference.removeprefix(USERS_PARAMETER_PREFIX)
    client = ssm or aws.client("ssm", settings.region, settings.endpoint_url)
    try:
        text = client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except (BotoCoreError, ClientError) as exc:
        raise UsersFileError(
            f"Users parameter {name} (WORKFLOW_USERS_FILE) cannot be read: {exc}"
        ) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsersFileError(f"Users parameter {name} is not valid JSON: {exc}") from None
    return UserStore.from_dict(data, source=reference)


def get_container() -> Container:
    """The container of this Lambda container (process), built on first use."""
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                _container = build_container()
    return _container


def set_container(container: Container | None) -> None:
    """Install a container (tests, the local launcher)."""
    global _container
    _container = container


def reset_container() -> None:
    """Forget the container; the next ``get_container()`` builds a new one."""
    set_container(None)


def warm(touch: Callable[[Container], None] | None = None) -> None:
    """Build the container (and its clients) now: call from the cold start, never from import."""
    container = get_container()
    if touch is not None:
        touch(container)
