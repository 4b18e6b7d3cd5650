"""Settings, read lazily from the environment (and loud when a required one is missing).

Nothing reads ``os.environ`` at import time. ``get_settings()`` builds one ``Settings`` object per
container on first use; tests call ``reset_settings()`` after changing the environment.
Every setting, its default and its meaning is listed in the README.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import InternalError
from .limits import DEFAULT_LIMITS, SETTING_NAMES, Limits

__all__ = [
    "Settings",
    "SettingsError",
    "get_settings",
    "reset_settings",
    "jobs_queue_name",
    "events_queue_name",
    "DEFAULT_EVENTS_QUEUE",
]

#: the inbound events queue when ``WORKFLOW_EVENTS_QUEUE`` is not set
DEFAULT_EVENTS_QUEUE = "workflow-events"


class SettingsError(InternalError):
    """A required setting is missing or malformed: a deployment fault, reported loudly."""


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"Setting {name} is required but not set")
    return value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"Setting {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"Setting {name} must be >= {minimum}, got {value}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"Setting {name} must be a number of seconds, got {raw!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise SettingsError(f"Setting {name} must be > 0, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"Setting {name} must be true or false, got {raw!r}")


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list (blank entries dropped)."""
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


def _pairs(env: Mapping[str, str], name: str) -> dict[str, str]:
    """``a=x,b=y`` -> ``{"a": "x", "b": "y"}`` (loud on an entry without ``=``)."""
    pairs: dict[str, str] = {}
    for part in _list(env, name):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SettingsError(f"Setting {name} must be name=value pairs, got {part!r}")
        pairs[key.strip()] = value.strip()
    return pairs


#: ``WORKFLOW_HTTP_SECRET_<NAME>``: a header secret an HTTP task names as ``{{secret:NAME}}``
HTTP_SECRET_PREFIX = "WORKFLOW_HTTP_SECRET_"
#: ``container.extras`` key of ``read(parameter) -> str``, the SSM SecureString reader that
#: ``bootstrap.build_container`` installs for ``ssm:<parameter>`` secrets (the use cases know
#: no AWS SDK)
SECRET_READER = "read-secure-parameter"

HISTORY_LEVELS = ("none", "activity", "audit", "full")
BACKENDS = ("aws", "moto")


def _backend(env: Mapping[str, str]) -> str:
    """``moto`` when DynamoDB and SQS are moto's in-process mocks (local mode, tests), else ``aws``.

    With ``moto`` every DynamoDB call is serialised behind one process-wide lock (moto's
    in-process transactions are not thread-safe). A moto *server* reached through
    ``AWS_ENDPOINT_URL`` counts as ``aws``: it is a separate process with its own state.
    """
    raw = env.get("WORKFLOW_BACKEND", "aws").strip().lower() or "aws"
    if raw not in BACKENDS:
        raise SettingsError(
            f"Setting WORKFLOW_BACKEND must be one of {', '.join(BACKENDS)}, got {raw!r}"
        )
    return raw


def _limits(env: Mapping[str, str]) -> Limits:
    """The ``WORKFLOW_MAX_*`` input limits (``chalicelib.limits``), each an integer >= 1."""
    values = {
        name: _int(env, setting, getattr(DEFAULT_LIMITS, name), minimum=1)
        for name, setting in SETTING_NAMES.items()
    }
    return Limits(**values)


@dataclass(frozen=True)
class Settings:
    """Every setting of the service. Build with ``Settings.from_env``."""

    stage: str
    region: str
    repository_table: str
    runtime_table: str
    history_table: str
    deadletter_table: str
    jobs_queue: str
    events_queue: str = DEFAULT_EVENTS_QUEUE
    event_registry_cache_seconds: int = 5
    users_file: str | None = None
    process_access_file: str | None = None
    trust_authorizer: bool = False
    max_page_size: int = 1000
    query_read_budget: int = 500
    credential_cache_seconds: int = 300
    history_level: str = "audit"
    history_ttl_days: int = 0
    log_level: str = "INFO"
    endpoint_url: str | None = None
    backend: str = "aws"
    sweep_period_seconds: float = 60.0
    #: CPU-time limit of one script task (regular expressions included: issue 12)
    script_time_limit_seconds: float = 1.0
    #: the input limits (``chalicelib.limits``), each its own ``WORKFLOW_MAX_*`` setting
    limits: Limits = DEFAULT_LIMITS
    #: HTTP tasks (``service/actions/http_task.py``): the URL prefixes they may call (none: an
    #: HTTP task is refused at deploy), the longest wait, the largest response body, and the
    #: header secrets (``WORKFLOW_HTTP_SECRET_<NAME>``: a value, or ``ssm:<parameter>``)
    http_allow: tuple[str, ...] = ()
    http_timeout_seconds: float = 10.0
    http_max_response_bytes: int = 262_144
    http_secrets: dict = field(default_factory=dict)
    #: mail tasks: the sender when the task names none, and the SES region (default: region)
    mail_from: str | None = None
    ses_region: str | None = None
    #: external worker tasks: topic -> SQS queue name (else an outbound channel keyed like the
    #: topic), and how long a published job waits for its worker before it is published again
    worker_topics: dict = field(default_factory=dict)
    worker_lock_seconds: int = 300
    #: lifecycle events (``service/events/lifecycle.py``): the outbound channel that receives
    #: them as CloudEvents, or None (off)
    lifecycle_channel: str | None = None
    #: queues besides the events queue that the deploy template wires to the inbound events
    #: function (an inbound channel's ``destination`` must be one of them, or the events queue)
    inbound_queues: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def jobs_dead_letter_queue(self) -> str:
        """The SQS dead-letter queue that receives undecodable job messages."""
        return f"{self.jobs_queue}-dlq"

    @property
    def events_dead_letter_queue(self) -> str:
        """The SQS dead-letter queue of the inbound events queue."""
        return f"{self.events_queue}-dlq"

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        level = env.get("WORKFLOW_HISTORY_LEVEL", "audit").strip().lower() or "audit"
        if level not in HISTORY_LEVELS:
            raise SettingsError(
                f"Setting WORKFLOW_HISTORY_LEVEL must be one of {', '.join(HISTORY_LEVELS)}, "
                f"got {level!r}"
            )
        return cls(
            stage=env.get("WORKFLOW_STAGE", "local").strip() or "local",
            region=(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1").strip(),
            repository_table=_required(env, "WORKFLOW_REPOSITORY_TABLE"),
            runtime_table=_required(env, "WORKFLOW_RUNTIME_TABLE"),
            history_table=_required(env, "WORKFLOW_HISTORY_TABLE"),
            deadletter_table=_required(env, "WORKFLOW_DEADLETTER_TABLE"),
            jobs_queue=_required(env, "WORKFLOW_JOBS_QUEUE"),
            events_queue=env.get("WORKFLOW_EVENTS_QUEUE", "").strip() or DEFAULT_EVENTS_QUEUE,
            event_registry_cache_seconds=_int(env, "WORKFLOW_EVENT_REGISTRY_CACHE_SECONDS", 5),
            users_file=env.get("WORKFLOW_USERS_FILE", "").strip() or None,
            process_access_file=env.get("WORKFLOW_PROCESS_ACCESS_FILE", "").strip() or None,
            trust_authorizer=_bool(env, "WORKFLOW_TRUST_AUTHORIZER", False),
            max_page_size=_int(env, "WORKFLOW_MAX_PAGE_SIZE", 1000, minimum=1),
            query_read_budget=_int(env, "WORKFLOW_QUERY_READ_BUDGET", 500, minimum=1),
            credential_cache_seconds=_int(env, "WORKFLOW_CREDENTIAL_CACHE_SECONDS", 300),
            history_level=level,
            history_ttl_days=_int(env, "WORKFLOW_HISTORY_TTL_DAYS", 0),
            log_level=(env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"),
            endpoint_url=env.get("AWS_ENDPOINT_URL", "").strip() or None,
            backend=_backend(env),
            sweep_period_seconds=_seconds(env, "WORKFLOW_SWEEP_PERIOD_SECONDS", 60.0),
            script_time_limit_seconds=_seconds(env, "WORKFLOW_SCRIPT_TIME_LIMIT_SECONDS", 1.0),
            limits=_limits(env),
            http_allow=_list(env, "WORKFLOW_HTTP_ALLOW"),
            http_timeout_seconds=_seconds(env, "WORKFLOW_HTTP_TIMEOUT_SECONDS", 10.0),
            http_max_response_bytes=_int(
                env, "WORKFLOW_HTTP_MAX_RESPONSE_BYTES", 262_144, minimum=1
            ),
            http_secrets={
                name[len(HTTP_SECRET_PREFIX) :]: value
                for name, value in env.items()
                if name.startswith(HTTP_SECRET_PREFIX) and len(name) > len(HTTP_SECRET_PREFIX)
            },
            mail_from=env.get("WORKFLOW_MAIL_FROM", "").strip() or None,
            ses_region=env.get("WORKFLOW_SES_REGION", "").strip() or None,
            worker_topics=_pairs(env, "WORKFLOW_WORKER_TOPICS"),
            worker_lock_seconds=_int(env, "WORKFLOW_WORKER_LOCK_SECONDS", 300, minimum=1),
            lifecycle_channel=env.get("WORKFLOW_LIFECYCLE_CHANNEL", "").strip() or None,
            inbound_queues=_list(env, "WORKFLOW_INBOUND_QUEUES"),
        )


_settings: Settings | None = None


def get_settings() -> Settings:
    """The container's settings, read from the environment on first use."""
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def reset_settings() -> None:
    """Forget the cached settings (tests, and the local launcher after it sets the environment)."""
    global _settings
    _settings = None


def jobs_queue_name() -> str:
    """The jobs queue name for ``@app.on_sqs_message``.

    Chalice needs the name when ``app.py`` is imported (it is part of the deployment plan), so this
    is the one setting read at import time. ``make package``, the local launcher, Lambda and the
    tests set the stage's environment before importing the app.
    """
    return os.environ.get("WORKFLOW_JOBS_QUEUE", "").strip() or "workflow-jobs"


def events_queue_name() -> str:
    """The inbound events queue name for ``@app.on_sqs_message`` (read at import time, as
    ``jobs_queue_name``)."""
    return os.environ.get("WORKFLOW_EVENTS_QUEUE", "").strip() or DEFAULT_EVENTS_QUEUE
