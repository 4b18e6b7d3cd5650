"""The runner of an HTTP task's action job: Flowable's ``HttpActivityBehavior``, one request.

The job carries the task's evaluated ``flowable:field`` values. The runner builds the request
like Flowable (``BaseHttpActivityDelegate.createRequest``), sends it once through
:mod:`.http_client` (allow-list, address checks, pinned address, manual redirects, timeouts,
size cap) and commits the outcome with the job's deletion (``finish.finish_job``):

- variables, named with ``resultVariablePrefix`` (default: the task's id):
  ``saveRequestVariables`` stores ``<prefix>RequestMethod``, ``RequestUrl``,
  ``RequestHeaders``, ``RequestBody``, ``RequestBodyEncoding``, ``RequestTimeout``,
  ``DisallowRedirects``, ``FailStatusCodes``, ``HandleStatusCodes``, ``IgnoreException``,
  ``SaveRequestVariables``, ``SaveResponseParameters``; ``saveResponseParameters`` stores
  ``<prefix>ResponseProtocol``, ``ResponseStatusCode``, ``ResponseReason``,
  ``ResponseHeaders``; the body is always stored (Flowable's default), as
  ``responseVariableName`` or ``<prefix>ResponseBody``, parsed when
  ``saveResponseVariableAsJson`` is true;
- a status >= 400 (>= 300 with ``disallowRedirects``) listed in ``handleStatusCodes`` (``404``,
  ``4XX``...) throws the BPMN error ``HTTP<status>``; listed in ``failStatusCodes``, it fails
  the job (retried, then dead-lettered) with the message ``HTTP<status>: ...``;
- ``ignoreException``: any failure of the call (refused, unreachable, timed out, a fail status)
  is stored in ``<prefix>ErrorMessage`` and the task continues.

``saveResponseParametersTransient``: this engine has no transient variables, and a transient
variable would not outlive the job's commit anyway; the response parameters and body are then
*not stored* at all.

Secrets: a ``requestHeaders`` value may hold ``{{secret:NAME}}``, replaced only in the bytes
sent with ``WORKFLOW_HTTP_SECRET_<NAME>`` (its value, or the SecureString SSM parameter named
by ``ssm:<parameter>``). The job, the saved ``RequestHeaders`` and every message keep the
placeholder. Flowable's request and response handlers (Java classes, scripts) are refused at
deploy.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from ...settings import SECRET_READER
from ...storage.ports import Item
from ..container import Services
from . import http_client
from .outcome import ActionFailed, ActionOutcome

log = logging.getLogger("workflow.service.actions")

__all__ = ["HANDLER", "METHODS", "run_http_task", "status_matches", "parse_headers"]

HANDLER = "http-task"
METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH"})
_SECRET = re.compile(r"\{\{secret:([A-Za-z0-9_]+)\}\}")
_SSM = "ssm:"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _flag(fields: dict[str, Any], name: str) -> bool:
    """Flowable's ``getBooleanFromField``: true/false (any case) or a boolean."""
    value = fields.get(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ActionFailed(f"field {name}: '{value}' is not a boolean")


def _number(fields: dict[str, Any], name: str) -> int:
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    try:
        return int(str(value).strip())
    except ValueError:
        raise ActionFailed(f"field {name}: '{value}' is not a number") from None


def _codes(value: str | None) -> set[str]:
    return {code.strip().upper() for code in (value or "").split(",") if code.strip()}


def status_matches(status: int, codes: set[str]) -> bool:
    """Flowable's status list: the code itself, or its class ``3XX``, ``4XX``, ``5XX``."""
    code = str(status)
    return code in codes or (code[0] in "345" and f"{code[0]}XX" in codes)


def parse_headers(text: str | None) -> list[tuple[str, str]]:
    """``requestHeaders``: ``Name: value`` lines (Flowable's ``HttpHeaders.parseFromString``)."""
    headers: list[tuple[str, str]] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ActionFailed(f"requestHeaders are invalid: line '{_SECRET.sub('***', line)}'")
        headers.append((name.strip(), value.strip()))
    return headers


def _secret(container: Services, name: str) -> str:
    secrets = container.settings.http_secrets
    if name not in secrets:
        raise ActionFailed(
            f"requestHeaders name the secret '{name}', which is not configured "
            f"(WORKFLOW_HTTP_SECRET_{name})"
        )
    value = str(secrets[name])
    if not value.startswith(_SSM):
        return value
    parameter = value.removeprefix(_SSM)
    read = container.extras.get(SECRET_READER)
    if read is None:
        raise ActionFailed(f"the secret '{name}' is an SSM parameter, and no reader is set up")
    try:
        return str(read(parameter))
    except LookupError as exc:
        raise ActionFailed(f"the secret '{name}': {exc}") from None


def _with_secrets(
    container: Services, headers: list[tuple[str, str]]
) -> tuple[tuple[tuple[str, str], ...], frozenset[str]]:
    sent: list[tuple[str, str]] = []
    secret_names: set[str] = set()
    for name, value in headers:
        if _SECRET.search(value):
            secret_names.add(name.lower())
            value = _SECRET.sub(lambda m: _secret(container, m.group(1)), value)
        sent.append((name, value))
    return tuple(sent), frozenset(secret_names)


class _Task:
    """The request the job's fields describe (``createRequest``), checked before any I/O."""

    def __init__(self, job: Item):
        data = job.data
        fields: dict[str, Any] = dict(
            (data.get("jobHandlerConfiguration") or {}).get("fields") or {}
        )
        self.method = (_text(fields.get("requestMethod")) or "").strip().upper()
        if not self.method:
            raise ActionFailed("requestMethod is required")
        if self.method not in METHODS:
            raise ActionFailed(
                f"requestMethod '{self.method}' is invalid ({', '.join(sorted(METHODS))})"
            )
        self.url = (_text(fields.get("requestUrl")) or "").strip()
        if not self.url:
            raise ActionFailed("requestUrl is required")
        self.headers_text = _text(fields.get("requestHeaders"))
        self.headers = parse_headers(self.headers_text)
        self.body = _text(fields.get("requestBody"))
        self.encoding = _text(fields.get("requestBodyEncoding"))
        self.timeout = _number(fields, "requestTimeout")
        self.no_redirects = _flag(fields, "disallowRedirects")
        self.fail_text = _text(fields.get("failStatusCodes"))
        self.handle_text = _text(fields.get("handleStatusCodes"))
        self.ignore = _flag(fields, "ignoreException")
        self.save_request = _flag(fields, "saveRequestVariables")
        self.save_response = _flag(fields, "saveResponseParameters")
        self.transient = _flag(fields, "saveResponseParametersTransient")
        self.as_json = _flag(fields, "saveResponseVariableAsJson")
        self.body_variable = _text(fields.get("responseVariableName"))
        prefix = _text(fields.get("resultVariablePrefix"))
        self.prefix = prefix if prefix is not None else str(data.get("elementId") or "")

    def request_variables(self) -> dict[str, Any]:
        p = self.prefix
        return {
            f"{p}RequestMethod": self.method,
            f"{p}RequestUrl": self.url,
            f"{p}RequestHeaders": self.headers_text,
            f"{p}RequestBody": self.body,
            f"{p}RequestBodyEncoding": self.encoding,
            f"{p}RequestTimeout": self.timeout,
            f"{p}DisallowRedirects": self.no_redirects,
            f"{p}FailStatusCodes": self.fail_text,
            f"{p}HandleStatusCodes": self.handle_text,
            f"{p}IgnoreException": self.ignore,
            f"{p}SaveRequestVariables": self.save_request,
            f"{p}SaveResponseParameters": self.save_response,
        }

    def request(self, container: Services) -> http_client.Request:
        settings = container.settings
        cap = float(settings.http_timeout_seconds)
        timeout = min(self.timeout / 1000, cap) if self.timeout > 0 else cap
        headers, secret_names = _with_secrets(container, self.headers)
        body: bytes | None = None
        if self.body is not None and self.method in ("POST", "PUT", "PATCH"):
            encoding = self.encoding or "utf-8"
            try:
                body = self.body.encode(encoding)
            except LookupError:
                raise ActionFailed(f"requestBodyEncoding '{encoding}' is unknown") from None
            if not any(name.lower() == "content-type" for name, _ in headers):
                headers += (("Content-Type", f"text/plain; charset={encoding}"),)
        return http_client.Request(
            method=self.method,
            url=self.url,
            headers=headers,
            body=body,
            timeout=timeout,
            follow_redirects=not self.no_redirects,
            secret_headers=secret_names,
        )

    def outcome(self, response: http_client.Response, variables: dict[str, Any]) -> ActionOutcome:
        """The variables of ``response``, then its status handled like Flowable."""
        p = self.prefix
        if not self.transient:
            if self.save_response:
                variables[f"{p}ResponseProtocol"] = response.protocol
                variables[f"{p}ResponseStatusCode"] = response.status
                variables[f"{p}ResponseReason"] = response.reason
                variables[f"{p}ResponseHeaders"] = response.headers_text()
            name = self.body_variable or f"{p}ResponseBody"
            variables[name] = self._body(response)
        status = response.status
        if status >= 400 or (self.no_redirects and status >= 300):
            if status_matches(status, _codes(self.handle_text)):
                return ActionOutcome(variables, f"HTTP{status}")
            if status_matches(status, _codes(self.fail_text)):
                raise ActionFailed(
                    f"HTTP{status}: {self.method} {self.url} answered {status} "
                    f"{response.reason} (failStatusCodes {self.fail_text})"
                )
        return ActionOutcome(variables)

    def _body(self, response: http_client.Response) -> Any:
        text = response.text()
        if not self.as_json:
            return text
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ActionFailed(
                f"{self.method} {self.url}: the response body is not JSON ({exc})"
            ) from None


def run_http_task(container: Services, job: Item) -> str:
    """Send the job's request once and commit its outcome (see the module doc); raises
    ``ActionFailed`` (the job fails and is retried) unless ``ignoreException``."""
    from .finish import finish_job  # the engine's session: loaded by the first job

    task = _Task(job)
    variables: dict[str, Any] = task.request_variables() if task.save_request else {}
    settings = container.settings
    try:
        response = http_client.send(
            task.request(container), settings.http_allow, settings.http_max_response_bytes
        )
        outcome = task.outcome(response, variables)
    except ActionFailed as exc:
        if not task.ignore:
            raise
        log.info("HTTP task job %s: failure ignored: %s", job.data.get("_id"), exc.message)
        variables[f"{task.prefix}ErrorMessage"] = exc.message
        outcome = ActionOutcome(variables)
    return finish_job(container, job, outcome)
