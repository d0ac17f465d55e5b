"""A small HTTP client for endpoints: the local one over plain HTTP on loopback, a cloud one (a web app, an Azure ML
online endpoint) over HTTPS with this machine's trusted CAs (SSL_CERT_FILE names others). Plain HTTP anywhere but
loopback is refused: the endpoint's key travels in a header."""

from __future__ import annotations

import functools
import http.client
import json
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from llmops.backends.targets import DEPLOYMENT_HEADER, PROBE_HEADER, PROBE_VALUE, REQUEST_ID_HEADER
from llmops.errors import LlmopsError
from llmops.serving.endpoint_key import EndpointKey

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class ScoreReply:
    status: int
    deployment: str | None  # from the azureml-model-deployment response header
    body: Any
    seconds: float
    request_id: str | None = None  # from the x-request-id response header: server.log names the request by it

    @property
    def error_message(self) -> str:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("message", ""))
        return ""


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return (http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout,
                                            context=_tls()), _target(parts.path, parts.query))
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        raise LlmopsError(f"endpoint URL '{url}' is neither https nor on loopback; the local endpoint listens on "
                          "127.0.0.1, a cloud endpoint answers over https")
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    return connection, _target(parts.path, parts.query)


@functools.cache
def _tls() -> ssl.SSLContext:
    """This machine's trusted CAs, read once: parsing the bundle costs more than the request it secures."""
    return ssl.create_default_context()


def _target(path: str, query: str) -> str:
    return (path or "/") + (f"?{query}" if query else "")


def _request(url: str, method: str, body: bytes | None, headers: dict[str, str],
             timeout: float) -> tuple[int, dict[str, str], Any]:
    conn, path = _connection(url, timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        response_headers = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    try:
        parsed = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        parsed = raw.decode("utf-8", errors="replace")
    return response.status, response_headers, parsed


def get_json(url: str, timeout: float = 10.0, key: EndpointKey | None = None) -> tuple[int, Any]:
    """GET `url`; with the endpoint's key, liveness also says what the endpoint serves."""
    status, _, body = _request(url, "GET", None, key.header if key else {}, timeout)
    return status, body


def score(url: str, inputs: Any, deployment: str | None = None, headers: dict[str, str] | None = None,
          timeout: float = 300.0, key: EndpointKey | None = None, probe: bool = False) -> ScoreReply:
    """POST the inputs to `<url>` (the scoring URL); `deployment` forces one, as Azure ML's header does; `probe`:
    llmops testing the endpoint (PROBE_HEADER), not a user's request."""
    sent = {"Content-Type": "application/json", **(key.header if key else {}), **(headers or {})}
    if deployment:
        sent[DEPLOYMENT_HEADER] = deployment
    if probe:
        sent[PROBE_HEADER] = PROBE_VALUE
    started = time.perf_counter()
    status, received, body = _request(url, "POST", json.dumps(inputs).encode(), sent, timeout)
    return ScoreReply(status, received.get(DEPLOYMENT_HEADER), body, time.perf_counter() - started,
                      received.get(REQUEST_ID_HEADER))
