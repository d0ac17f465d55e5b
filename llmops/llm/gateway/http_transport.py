"""HTTP to a remote upstream (Azure OpenAI, OpenAI, an OpenAI-compatible service) through urllib3.

urllib3 is the HTTP library under requests (so under azure-core, msal and tiktoken, which llmops already
installs); its pools are thread-safe, and through the gateway it cost half the CPU per call of httpx
(figures in loopback_transport.py). What this transport adds to it:
- keep-alive connections pooled per upstream, as many as the upstream's concurrency;
- TLS verified against the CA bundle named by REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE) as requests does,
  else OpenSSL's default locations, which SSL_CERT_FILE and SSL_CERT_DIR override;
- HTTPS_PROXY / HTTP_PROXY / ALL_PROXY unless NO_PROXY names the host, read as the standard library
  (and requests) read them, once per upstream; loopback hosts never go through a proxy;
- one timeout per attempt (connect, then each read), and every failure to get an answer as an
  UpstreamTransportError, which the retry layer retries: "no answer within N s (timeout)", or the
  operating system's error ("ConnectionRefusedError: [Errno 111] Connection refused").
"""

from __future__ import annotations

import http.client
import os
import ssl
import urllib.request
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.ssl_ import create_urllib3_context

from llmops.llm.gateway.loopback_transport import LoopbackTransport
from llmops.llm.gateway.translate import UpstreamRequest
from llmops.llm.gateway.transport import Transport, UpstreamResponse, UpstreamTransportError, describe, no_answer

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
# The upstream closed a kept-alive connection before answering (its idle timeout racing our reuse): the
# request was not processed, so one immediate resend is not a retry.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def open_transport(base_url: str, keep_alive: int = 16) -> Transport:
    """The transport for an upstream: the lean loopback client for plain HTTP on this machine, else urllib3."""
    parts = urlsplit(base_url)
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return LoopbackTransport(base_url)
    return HttpTransport(base_url, keep_alive)


class HttpTransport:
    """Sends requests to one base URL, keeping up to `keep_alive` idle connections for reuse."""

    def __init__(self, base_url: str, keep_alive: int = 16) -> None:
        self._base_url = base_url.rstrip("/")
        self._pool = _pool_manager(base_url, keep_alive)

    def send(self, request: UpstreamRequest, timeout_s: float) -> UpstreamResponse:
        url = self._base_url + request.path
        # Answers are small JSON documents: decompressing them would cost more than it saves.
        headers = {"Accept-Encoding": "identity", **request.headers}
        timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
        for resend in (False, True):
            try:
                response = self._pool.urlopen("POST", url, body=request.payload, headers=headers, timeout=timeout,
                                              retries=False, redirect=False)
            except NewConnectionError as error:  # a subclass of urllib3's timeout, but not one
                raise UpstreamTransportError(describe(error)) from error
            except Urllib3Timeout as error:
                raise no_answer(timeout_s) from error
            except ProtocolError as error:
                if resend or not any(isinstance(cause, _STALE) for cause in error.args):
                    raise UpstreamTransportError(describe(error)) from error
                continue
            except (HTTPError, OSError) as error:  # TLS, proxy and other connection failures
                raise UpstreamTransportError(describe(error)) from error
            return UpstreamResponse(response.status, response.data, _joined(response.headers))
        raise AssertionError("unreachable: the resend returns or raises")

    def close(self) -> None:
        self._pool.clear()


def _pool_manager(base_url: str, keep_alive: int) -> urllib3.PoolManager:
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    tls = _tls_context() if parts.scheme == "https" else None  # loading the CA store costs tens of ms
    if host not in LOOPBACK_HOSTS and not urllib.request.proxy_bypass(host):
        proxies = urllib.request.getproxies()
        proxy = proxies.get(parts.scheme) or proxies.get("all")
        if proxy:
            return urllib3.ProxyManager(proxy if "://" in proxy else f"http://{proxy}", maxsize=keep_alive,
                                        ssl_context=tls)
    return urllib3.PoolManager(maxsize=keep_alive, ssl_context=tls)


def _tls_context() -> ssl.SSLContext:
    context = create_urllib3_context()  # urllib3's defaults: TLS 1.2 or later, certificates required
    bundle = next((os.environ[name] for name in CA_BUNDLE_VARIABLES if os.environ.get(name)), None)
    if bundle is None:
        context.load_default_certs()
    elif os.path.isdir(bundle):
        context.load_verify_locations(capath=bundle)
    else:
        context.load_verify_locations(cafile=bundle)
    return context


def _joined(headers: urllib3.HTTPHeaderDict) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in headers.iteritems():  # each repeat of a header on its own
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined
