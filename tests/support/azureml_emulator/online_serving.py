"""Online deployments served for real: a process per deployment, and the endpoints' scoring URL in front of them.

When a deployment's create (or update) operation is accepted, its server starts in the background from its
image's build context (deployment_server.py); the operation stays InProgress until the server answers, then
succeeds, or fails with the server's own last words, or because its image was never pushed (BadArgument, "Unable
to download user container image ...", as the service says it; a deployment that fails to provision leaves traffic
as it was). An image exists when a registry here holds it (`web_apps.push_image`, standing in for a push).
Deleting the deployment, or its endpoint, stops its process.

The scoring URL (`<base_url>/inference/<endpoint>/score`, the endpoint's scoringUri) does what Azure
ML's front end does: it checks the endpoint's key (`Authorization: Bearer <key>`, 401 without), picks
the deployment by the endpoint's traffic map (weighted; the `azureml-model-deployment` header forces
one, whatever its traffic), forwards the request (its body, content type and the caller's own `x-` headers, such
as llmops's probe marker; not the key) over a kept-alive loopback connection, answers with
the deployment named in the same header, and copies the request to a mirror deployment for the share
of requests its mirrorTraffic gives (the copy's answer is dropped; `mirrored` counts them).
"""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .context import Context
from .deployment_server import Release, RunningServer, start_deployment_server
from .errors import ServiceError
from .http import Request, Response
from .routes import managed_identity

DEPLOYMENT_HEADER = "azureml-model-deployment"
Key = tuple[str, str]


def _key(endpoint: str, deployment: str) -> Key:
    return endpoint.lower(), deployment.lower()


def _message(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps({"message": message}).encode(), dict(headers or {}))


class OnlineServing:
    def __init__(self, context: Context, work_dir: Path, seed: int = 20240601) -> None:
        self.context = context
        self.work_dir = work_dir
        self.seed = seed
        self.mirrored: Counter[str] = Counter()  # mirror copies sent, by deployment
        self._servers: dict[Key, RunningServer] = {}
        self._starting: dict[Key, Future[RunningServer]] = {}
        self._rngs: dict[str, random.Random] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="online-deployment")
        self._mirror_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="online-mirror")
        self._connections = threading.local()

    # -- provisioning ------------------------------------------------------------------------------

    def provision(self, endpoint: str, deployment: Any) -> Any:
        """Start the deployment's server in the background; returns the operation's `ready` check."""
        key = _key(endpoint, deployment["name"])
        self.stop(endpoint, deployment["name"])
        future = self._pool.submit(self._start, endpoint, deployment)
        with self._lock:
            self._starting[key] = future
        return future.done

    def finish(self, endpoint: str, name: str) -> None:
        """The operation's end: the server is up, or a ServiceError saying why it is not."""
        with self._lock:
            future = self._starting.pop(_key(endpoint, name), None)
        if future is None:
            return
        error = future.exception()
        if error is not None:
            raise error if isinstance(error, ServiceError) else ServiceError(
                400, "ResourceNotReady", f"User container has crashed or terminated: {error}")
        with self._lock:
            self._servers[_key(endpoint, name)] = future.result()

    def _start(self, endpoint: str, deployment: Any) -> RunningServer:
        # A folder per start: a process keeps what it learnt about a state directory's path (the registry's tables).
        folder = self.work_dir / endpoint.lower() / f"{deployment['name'].lower()}-{uuid.uuid4().hex[:8]}"
        platform = {"MSI_ENDPOINT": f"{self.context.base_url}{managed_identity.AZURE_ML_PATH}",
                    "MSI_SECRET": self.context.identity_header}
        return start_deployment_server(folder, self._release(endpoint, deployment), platform)

    def _release(self, endpoint: str, deployment: Any) -> Release:
        """The deployment's image, pulled from the registry it names (its build context), and its variables."""
        properties = deployment["properties"]
        found = re.search(r"/environments/([^/]+)/versions/([^/]+)$", properties.get("environmentId") or "")
        environment = self.context.store.get("environments", found[1], "versions", found[2]) if found else None
        image = str(((environment or {}).get("properties") or {}).get("image") or "")
        assert self.context.web_apps is not None
        context_dir = self.context.web_apps.image(image)
        if context_dir is None:  # the service's words for an image its registry lacks (aka.ms/oe-tsg#error-badargument)
            raise ServiceError(400, "BadArgument", f"Unable to download user container image {image or '(none)'}: "
                                                   "manifest unknown. Make sure the image is in the workspace's "
                                                   "container registry.")
        variables = {str(k): str(v) for k, v in (properties.get("environmentVariables") or {}).items()}
        return Release(endpoint, deployment["name"], context_dir, variables)

    def stop(self, endpoint: str, name: str) -> None:
        key = _key(endpoint, name)
        with self._lock:
            server = self._servers.pop(key, None)
            starting = self._starting.pop(key, None)
        if starting is not None:
            try:
                server = starting.result()
            except Exception:  # it never started: nothing to stop
                server = None
        if server is not None:
            server.stop()

    def stop_endpoint(self, endpoint: str) -> None:
        with self._lock:
            keys = [k for k in (*self._servers, *self._starting) if k[0] == endpoint.lower()]
        for _, name in keys:
            self.stop(endpoint, name)

    def stop_all(self) -> None:
        with self._lock:
            keys = [*self._servers, *self._starting]
        for endpoint, name in keys:
            self.stop(endpoint, name)
        self.mirrored.clear()
        self._rngs.clear()

    def running(self, endpoint: str) -> list[str]:
        """The deployments of `endpoint` whose server runs, for tests."""
        with self._lock:
            return sorted(name for ep, name in self._servers if ep == endpoint.lower())

    # -- scoring -----------------------------------------------------------------------------------

    def score(self, request: Request, params: dict[str, str]) -> Response:
        name = params["endpoint"]
        endpoint = self.context.store.get("onlineEndpoints", name)
        if endpoint is None:
            return _message(404, f"Endpoint {name} not found.")
        keys = self.context.store.extras("onlineEndpoints", name).get("keys") or ()
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or sent.strip() not in keys:
            return _message(401, "Please provide the endpoint key in the Authorization header as: Bearer <key>.",
                            {"WWW-Authenticate": "Bearer"})
        forced = request.headers.get(DEPLOYMENT_HEADER, "").strip()
        properties = endpoint["properties"]
        chosen = forced or self._choose(name, properties.get("traffic") or {})
        if not chosen:
            return _message(503, f"No deployment of endpoint {name} takes traffic; set its traffic.")
        with self._lock:
            server = self._servers.get(_key(name, chosen))
        if server is None:
            known = [d["name"] for d in self.context.store.children("onlineEndpoints", name, "deployments")]
            status = 404 if chosen.lower() not in (k.lower() for k in known) else 503
            return _message(status, f"Deployment {chosen} of endpoint {name} is not available"
                                    f"{'' if status == 503 else ' (no such deployment)'}.")
        status, headers, body = self._forward(server, request)
        if not forced and 200 <= status < 300:
            self._mirror(name, chosen, properties.get("mirrorTraffic") or {}, request)
        answer = {"Content-Type": headers.get("content-type", "application/json"), DEPLOYMENT_HEADER: chosen}
        if "x-request-id" in headers:
            answer["x-request-id"] = headers["x-request-id"]
        return Response(status, body, answer, content_type=answer.pop("Content-Type"))

    def _rng(self, endpoint: str) -> random.Random:
        with self._lock:
            return self._rngs.setdefault(endpoint.lower(), random.Random(self.seed))

    def _choose(self, endpoint: str, traffic: dict[str, int]) -> str | None:
        weighted = [(name, int(share)) for name, share in sorted(traffic.items()) if int(share) > 0]
        if not weighted:
            return None
        rng = self._rng(endpoint)
        with self._lock:
            return rng.choices([n for n, _ in weighted], weights=[s for _, s in weighted])[0]

    def _mirror(self, endpoint: str, live: str, mirror: dict[str, int], request: Request) -> None:
        rng = self._rng(endpoint)
        for name, share in sorted(mirror.items()):
            with self._lock:
                drawn = rng.random() * 100 < int(share)
                server = self._servers.get(_key(endpoint, name))
            if drawn and server is not None and name.lower() != live.lower():
                self.mirrored[name] += 1
                self._mirror_pool.submit(self._forward, server, request)

    def _forward(self, server: RunningServer, request: Request) -> tuple[int, dict[str, str], bytes]:
        """POST /score to the deployment's server over this thread's kept-alive connection (one retry on a stale
        one)."""
        pool: dict[str, http.client.HTTPConnection] = self._connections.__dict__.setdefault("pool", {})
        parts = urlsplit(server.url)
        headers = {"Content-Type": request.headers.get("content-type", "application/json"),
                   **{name: value for name, value in request.headers.items() if name.startswith("x-")}}
        for attempt in (1, 2):
            conn = pool.get(server.url)
            if conn is None:
                conn = pool[server.url] = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=120)
            try:
                conn.request("POST", "/score", body=request.body, headers=headers)
                response = conn.getresponse()
                return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                pool.pop(server.url, None)
                if attempt == 2:
                    return 502, {}, json.dumps({"message": "The deployment did not answer."}).encode()
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.stop_all()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._mirror_pool.shutdown(wait=False, cancel_futures=True)
