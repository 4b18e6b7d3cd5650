"""The local launcher behind ``make run``: the whole service on one machine.

It does what API Gateway, Lambda, SQS event source mappings and EventBridge schedules do in AWS:

* a backend: moto's DynamoDB and SQS in this process (the default), or a real endpoint when
  ``AWS_ENDPOINT_URL`` is set (a moto server, say) or ``WORKFLOW_BACKEND=aws`` is explicit
  (stray AWS credentials alone never switch it);
* the tables and queues, created at start (moto only: on AWS the deploy template creates them);
* Chalice's local HTTP server for the routes, with CREST JSON envelopes for what it answers
  itself (``server.py``: paths outside the API, malformed or oversized requests);
* one worker thread per ``@app.on_sqs_message`` handler that long-polls its queue, hands the
  handler a Lambda-shaped event, and deletes only the records the handler did not list in
  ``batchItemFailures`` (the others come back after the visibility timeout and, after the
  queue's ``maxReceiveCount``, land in its dead-letter queue). ``DelaySeconds`` is SQS's own;
* one thread per ``@app.schedule`` handler, invoked every ``WORKFLOW_LOCAL_TICK_SECONDS``
  (``WORKFLOW_SWEEP_PERIOD_SECONDS`` is set to the same tick, so the job sweep looks ahead
  1.5 ticks rather than the 90 s of the one-minute AWS schedule).

Everything here is local tooling; Lambda never imports this module.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..workers.lambda_context import LocalContext

if TYPE_CHECKING:  # chalice and the settings load in start(), once the stage environment is read
    from chalice.config import Config

    from ..settings import Settings

__all__ = ["Launcher", "LauncherStats", "load_stage_environment", "main"]

log = logging.getLogger("workflow.local")

PROJECT_DIR = Path(__file__).resolve().parents[2]
#: how often a worker polls embedded moto's queue when it was empty (see ``_sqs_worker``)
EMBEDDED_POLL_SECONDS = 0.05
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def load_stage_environment(stage: str, project_dir: Path = PROJECT_DIR) -> Config:
    """Read ``.chalice/config.json`` for ``stage`` and export its environment variables (values
    already in the environment win); the default region is us-east-1."""
    from chalice.cli.factory import CLIFactory

    config = CLIFactory(str(project_dir)).create_config_obj(stage)
    for name, value in (config.environment_variables or {}).items():
        os.environ.setdefault(name, str(value))
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return config


@dataclass
class LauncherStats:
    """What the background threads did: for the log, tests and benchmarks."""

    batches: int = 0
    delivered: int = 0
    failed: int = 0
    ticks: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


class Launcher:
    """Start the backend, the HTTP server and the event threads; ``stop()`` ends them all."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        stage: str = "local",
        tick_seconds: float | None = None,
        project_dir: Path = PROJECT_DIR,
        deploy_workflows: bool = True,
    ):
        self.host = host
        self.port = port
        self.stage = stage
        self.project_dir = project_dir
        self.tick_seconds = tick_seconds
        self.deploy_workflows = deploy_workflows
        self.stats = LauncherStats()
        self.backend_name = ""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._mock: Any = None
        self._server: Any = None
        self.demo_api: Any = None
        self.app_module: Any = None

    # -- start -------------------------------------------------------------------------------

    def start(self) -> Launcher:
        """Bring everything up; returns once the HTTP server accepts connections."""
        config = self._load_stage_environment()
        self._start_backend()
        from ..bootstrap import reset_container
        from ..settings import get_settings, reset_settings

        if self.tick_seconds is None:
            self.tick_seconds = float(os.environ.get("WORKFLOW_LOCAL_TICK_SECONDS", "1") or 1)
        # the sweep runs every tick here (not every minute): it need only look that far ahead
        os.environ["WORKFLOW_SWEEP_PERIOD_SECONDS"] = f"{self.tick_seconds:g}"
        reset_settings()
        reset_container()
        settings = get_settings()
        if self.backend_name != "aws":
            self._create_resources(settings)
        self._start_demo_api(settings)
        sys.path.insert(0, str(self.project_dir))
        self.app_module = importlib.import_module("app")
        if self.deploy_workflows:
            self._deploy_workflow_directory()
        self._start_event_threads(settings)
        self._start_http(config)
        return self

    def _load_stage_environment(self) -> Config:
        """Read ``.chalice/config.json`` for the stage and export its environment variables.

        Values already in the environment win, so ``PORT=... WORKFLOW_...=... make run`` works.
        """
        return load_stage_environment(self.stage, self.project_dir)

    def _start_backend(self) -> None:
        explicit = os.environ.get("WORKFLOW_BACKEND", "").strip().lower()
        if os.environ.get("AWS_ENDPOINT_URL"):
            self.backend_name = f"endpoint {os.environ['AWS_ENDPOINT_URL']}"
            os.environ["WORKFLOW_BACKEND"] = "aws"
            for name, value in DUMMY_CREDENTIALS.items():
                os.environ.setdefault(name, value)
            return
        if explicit == "aws":
            self.backend_name = "aws"
            return
        # Embedded moto: dummy credentials so nothing can ever reach a real account.
        os.environ.update(DUMMY_CREDENTIALS)
        os.environ["WORKFLOW_BACKEND"] = "moto"
        from moto import mock_aws

        from .moto_fixes import install

        install()
        self._mock = mock_aws()
        self._mock.start()
        self.backend_name = "embedded moto"

    def _create_resources(self, settings: Settings) -> None:
        from ..messaging.sqs import create_queues
        from ..storage.dynamo import create_tables

        create_tables(settings)
        create_queues(settings)
        if settings.inbound_queues:  # inbound channels' own queues (integrators' on AWS)
            from ..aws import client

            for name in settings.inbound_queues:
                client("sqs").create_queue(QueueName=name)
        if self._mock is not None and settings.mail_from:
            self._verify_sender(settings)

    def _verify_sender(self, settings: Settings) -> None:
        """Embedded moto only: verify ``WORKFLOW_MAIL_FROM`` so mail tasks can send (moto's SES
        keeps what they send; a real account's identities are its owner's)."""
        from ..aws import client

        ses = client("ses", settings.ses_region or settings.region, settings.endpoint_url)
        ses.verify_email_identity(EmailAddress=settings.mail_from)

    def _start_demo_api(self, settings: Settings) -> None:
        """The stand-in provisioning API the ``contractorOnboarding`` sample calls
        (``demo_api.py``), on ``WORKFLOW_LOCAL_DEMO_API_PORT`` (0 or unset in tests: none)."""
        port = int(os.environ.get("WORKFLOW_LOCAL_DEMO_API_PORT", "0") or 0)
        if port <= 0:
            return
        from .demo_api import DemoApi

        try:
            self.demo_api = DemoApi(
                "127.0.0.1", port, settings.http_secrets.get("PROVISIONING")
            ).start()
        except OSError as exc:  # the port is taken: the samples' HTTP task will be retried
            log.warning("demo provisioning API not started on port %d: %s", port, exc)

    def _deploy_workflow_directory(self) -> None:
        """Deploy ``workflow/`` (BPMN files and ``.bar`` archives) when the service can."""
        try:
            from .workflow_dir import deploy_directory
        except ImportError:  # BPMN deployment arrives with the model issue
            return
        deploy_directory(self.project_dir / "workflow")
        self._create_outbound_queues()

    def _create_outbound_queues(self) -> None:
        """Create the queues of the deployed outbound ``sqs`` channels (local runs only: a
        deployed stage's queues are the deployer's)."""
        from ..aws import client
        from ..bootstrap import get_container
        from ..service.repositories.event_registry import all_channels

        sqs = client("sqs")
        for item in all_channels(get_container().store):
            data = item.data
            if data.get("channelType") == "outbound" and data.get("type") == "sqs":
                sqs.create_queue(QueueName=str(data["destination"]))

    def _start_event_threads(self, settings: Settings) -> None:
        from chalice.app import ScheduledEventConfig, SQSEventConfig

        app = self.app_module.app
        target: Callable[..., None]
        args: tuple[Any, ...]
        for source in app.event_sources:
            handler = getattr(self.app_module, source.handler_string.split(".")[-1])
            if isinstance(source, SQSEventConfig):
                target = self._sqs_worker
                args = (source.queue, min(source.batch_size, 10), handler, source.name)
            elif isinstance(source, ScheduledEventConfig):
                target = self._ticker
                args = (handler, source.name)
            else:
                continue
            thread = threading.Thread(
                target=target, args=args, daemon=True, name=f"local-{source.name}"
            )
            thread.start()
            self._threads.append(thread)
            if isinstance(source, SQSEventConfig) and source.queue == settings.events_queue:
                for name in settings.inbound_queues:  # wired to the same function on AWS
                    extra = threading.Thread(
                        target=self._sqs_worker,
                        args=(name, min(source.batch_size, 10), handler, f"{source.name}-{name}"),
                        daemon=True,
                        name=f"local-{source.name}-{name}",
                    )
                    extra.start()
                    self._threads.append(extra)

    def _start_http(self, config: Config) -> None:
        from chalice.local import LocalDevServer

        from .server import handler_class

        app = self.app_module.app
        self._server = LocalDevServer(
            app, config, self.host, self.port, handler_cls=handler_class(app)
        )
        self.port = self._server.server.server_address[1]
        thread = threading.Thread(
            target=self._server.server.serve_forever, daemon=True, name="local-http"
        )
        thread.start()
        self._threads.append(thread)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- event threads -----------------------------------------------------------------------

    def _sqs_worker(self, queue: str, batch_size: int, handler: Callable, name: str) -> None:
        from ..aws import client

        sqs = client("sqs")
        queue_url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        queue_arn = f"arn:aws:sqs:{os.environ['AWS_DEFAULT_REGION']}:123456789012:{queue}"
        # SQS's long poll returns as soon as a delayed message becomes visible; embedded moto's
        # notices it only at the end of each 1 s wait slice (up to 1 s late: every timer would
        # be). With embedded moto, poll without waiting every EMBEDDED_POLL_SECONDS instead.
        embedded = self._mock is not None
        wait = 0 if embedded else 1
        while not self._stop.is_set():
            try:
                received = sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=batch_size,
                    WaitTimeSeconds=wait,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception:
                log.exception("receiving from %s failed", queue)
                self.stats.add(errors=1)
                self._stop.wait(1)
                continue
            messages = received.get("Messages") or []
            if messages:
                self._deliver(sqs, queue_url, queue_arn, messages, handler, name)
            elif embedded:
                self._stop.wait(EMBEDDED_POLL_SECONDS)

    def _deliver(
        self, sqs: Any, queue_url: str, queue_arn: str, messages: list, handler: Callable, name: str
    ) -> None:
        event = {"Records": [_sqs_record(m, queue_arn) for m in messages]}
        try:
            response = handler(event, LocalContext(name)) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures") or []}
        except Exception:
            log.exception("handler %s raised: the whole batch returns to the queue", name)
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )
        self.stats.add(batches=1, delivered=len(done), failed=len(failed))
        log.info(
            "%s: batch of %d, %d done, %d returned to the queue",
            name,
            len(messages),
            len(done),
            len(failed),
        )

    def _ticker(self, handler: Callable, name: str) -> None:
        while not self._stop.wait(self.tick_seconds):
            event = {
                "version": "0",
                "id": str(time.time_ns()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "123456789012",
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                "resources": [f"arn:aws:events:local:123456789012:rule/{name}"],
                "detail": {},
            }
            try:
                handler(event, LocalContext(name))
                self.stats.add(ticks=1)
            except Exception:
                log.exception("scheduled handler %s raised", name)
                self.stats.add(errors=1)

    # -- stop --------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the threads and the server, and the embedded backend."""
        self._stop.set()
        if self.demo_api is not None:
            self.demo_api.stop()
        if self._server is not None:
            self._server.server.shutdown()
            self._server.server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._mock is not None:
            with contextlib.suppress(Exception):
                self._mock.stop()
            self._mock = None

    def serve_forever(self) -> None:
        try:
            while not self._stop.wait(3600):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()


def _sqs_record(message: dict, queue_arn: str) -> dict:
    """One SQS message in the shape Lambda's event source mapping delivers it."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }


_SETTINGS_HELP = """\
environment settings (read at start; values already set win over the stage's):
  HOST                         address to listen on (default 127.0.0.1; --host wins)
  PORT                         port to listen on (default 8080, 0 for any free one; --port wins)
  LOG_LEVEL                    log level of the service (default INFO)
  AWS_ENDPOINT_URL             use the DynamoDB and SQS at this endpoint (a moto server, say)
                               instead of embedded moto (wins over WORKFLOW_BACKEND); dummy
                               credentials unless set
  WORKFLOW_BACKEND             "aws": real AWS with the ambient credentials (the deploy
                               template must have created the tables and queues); unset or
                               anything else: embedded moto in this process, with dummy
                               credentials (stray AWS credentials alone never switch it)
  WORKFLOW_LOCAL_TICK_SECONDS  period of each scheduled handler (default 1); the job sweep's
                               WORKFLOW_SWEEP_PERIOD_SECONDS is set to the same tick
  WORKFLOW_LOCAL_DEMO_API_PORT port of the stand-in provisioning API the contractorOnboarding
                               sample calls (chalicelib/local/demo_api.py; the local stage
                               sets 8025; 0: not started)
  WORKFLOW_*                   every other setting (tables, queue, history level, users file,
                               ...) as in chalicelib/settings.py; the "local" stage of
                               .chalice/config.json provides the defaults

at start the tables and queues are created (moto only), then every BPMN file (*.bpmn20.xml,
*.bpmn) and .bar archive under the project's workflow/ directory is deployed (unchanged files
add no version); serves until interrupted (Ctrl-C)."""


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.local",
        description=(
            "Run the whole workflow service on this machine (what `make run` does): the HTTP "
            "API at http://HOST:PORT/openidm/workflow, one worker thread per SQS handler and "
            "one per schedule, over embedded moto or the endpoint configured below."
        ),
        epilog=_SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="address to listen on (overrides HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (overrides PORT)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """``python -m chalicelib.local``: serve until interrupted (``--help``: the settings)."""
    arguments = _arguments(argv)  # --help prints and exits here, before anything starts
    from ..observability import configure_logging

    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    host = arguments.host or os.environ.get("HOST", "127.0.0.1")
    port = arguments.port if arguments.port is not None else int(os.environ.get("PORT", "8080"))
    launcher = Launcher(host, port).start()
    print(
        json.dumps(
            {
                "message": f"Workflow service listening on {launcher.url}/openidm/workflow",
                "backend": launcher.backend_name,
                "stage": launcher.stage,
            }
        ),
        flush=True,
    )
    launcher.serve_forever()
    return 0
