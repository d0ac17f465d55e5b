"""App Service beside the workspace: plans, web apps and their slots, each slot a real endpoint server.

A slot "runs" its container setting (`linuxFxVersion` `DOCKER|<image>`) as App Service would, with no Docker
engine: the image must have been pushed to a registry here (`push_image(reference, context_dir)`, standing in
for `az acr build`), the identity named in `acrUserManagedIdentityID` must hold AcrPull on that registry, and
then the image's build context runs as a local process (llmops.serving.image.run.run_context) whose environment
is the slot's app settings, with each Key Vault reference resolved from the emulator's vault, the way App
Service resolves them when a container starts. A slot that cannot pull or start has no process: its host
answers 503, as a container that failed to start does.

Each site and each slot has a host of its own: an HTTPS server on a loopback port (`127.0.0.1:<port>`, its
defaultHostName), proxying to the slot's process. The site's host routes each request as App Service's front
end does: the `x-ms-routing-name` cookie or query parameter (`self` for production, or a slot's name) picks a
slot; otherwise the ramp-up rule's reroutePercentage sends that share of requests to the rule's actionHostName,
and the answer sets the cookie.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from llmops.errors import LlmopsError
from llmops.serving.image.run import RunningContext, run_context

from .key_vault import KeyVault
from .role_assignments import RoleAssignments

PRODUCTION = "production"
ROUTING_NAME = "x-ms-routing-name"
SETTING_NAME = re.compile(r"^[A-Za-z0-9_.]+$")  # what App Service on Linux takes as an app setting's name
KEY_VAULT_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\(SecretUri=(?P<uri>[^)]+)\)$")
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
# What a container on App Service gets from the host beyond its app settings: enough for Python to run.
# What a container gets from its host: enough for Python to run, and the trust of the session's CA
# (REQUESTS_CA_BUNDLE), which signed Azurite's certificate as a public CA signs Azure Storage's.
_HOST_VARIABLES = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Slot:
    """One slot of a site (production is the site itself): what it runs and the process running it."""

    site: str
    name: str
    resource: dict[str, Any]  # the Site resource as stored (without siteConfig, which App Service keeps apart)
    config: dict[str, Any]  # the SiteConfig properties (linuxFxVersion, appSettings as a list, experiments, ...)
    app_settings: dict[str, str] = field(default_factory=dict)
    running: RunningContext | None = None
    start_error: str = ""
    front: _Front | None = None
    started: int = 0  # how many times a process was started for it

    @property
    def host(self) -> str:
        assert self.front is not None
        return f"127.0.0.1:{self.front.port}"


@dataclass(frozen=True)
class Registry:
    name: str
    resource_group: str
    images: dict[str, Path] = field(default_factory=dict)  # reference -> build context


@dataclass(frozen=True)
class Identity:
    name: str
    resource_group: str
    client_id: str
    principal_id: str


class WebApps:
    def __init__(self, key_vault: KeyVault, vault_url: str, cert: Path, key: Path, work_dir: Path,
                 role_assignments: RoleAssignments, subscription: str) -> None:
        self.key_vault = key_vault
        self.role_assignments = role_assignments  # the emulator's one store (role_assignments.py), read here
        self.subscription = subscription
        self.vault_url = vault_url  # <base>/keyvault/<name>: what a reference's SecretUri starts with
        # What App Service sets in every container: its managed identity endpoint (IDENTITY_ENDPOINT/IDENTITY_HEADER).
        self.platform: dict[str, str] = {}
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(str(cert), str(key))
        self.work_dir = work_dir
        self.lock = threading.RLock()
        self.plans: dict[str, dict[str, Any]] = {}
        self.slots: dict[tuple[str, str], Slot] = {}  # (site, slot) lower-cased
        self.registries: dict[str, Registry] = {}
        self.identities: dict[str, Identity] = {}  # lower-cased name
        self.routed: list[str] = []  # the slot each request through a site's host went to

    # -- what tests set up -------------------------------------------------------------------------

    def add_registry(self, name: str, resource_group: str) -> Registry:
        registry = Registry(name, resource_group)
        self.registries[name.lower()] = registry
        return registry

    def push_image(self, reference: str, context_dir: Path) -> None:
        """The image `reference` as its build context: `az acr build` without a registry or Docker."""
        login_server = reference.split("/", 1)[0].lower()
        registry = self.registries.get(login_server.removesuffix(".azurecr.io"))
        if registry is None:
            raise KeyError(f"no registry for {reference}; add_registry() first")
        registry.images[reference] = context_dir

    def image(self, reference: str) -> Path | None:
        """The build context pushed as `reference`, to run as its container; None when no registry here holds it."""
        registry = self.registries.get(reference.split("/", 1)[0].lower().removesuffix(".azurecr.io"))
        return registry.images.get(reference) if registry is not None else None

    def add_identity(self, name: str, resource_group: str) -> Identity:
        import uuid

        identity = Identity(name, resource_group, str(uuid.uuid4()), str(uuid.uuid4()))
        self.identities[name.lower()] = identity
        return identity

    # -- slots ---------------------------------------------------------------------------------------

    def slot(self, site: str, slot: str = PRODUCTION) -> Slot | None:
        return self.slots.get((site.lower(), slot.lower()))

    def put_slot(self, site: str, slot_name: str, resource: dict[str, Any], config: dict[str, Any]) -> Slot:
        """Store a site or slot and (re)start its process when what it runs changed."""
        with self.lock:
            slot = self.slot(site, slot_name)
            settings = {str(p["name"]): str(p.get("value") or "") for p in config.pop("appSettings", None) or []}
            if slot is None:
                slot = Slot(site, slot_name, resource, config, settings)
                slot.front = _Front(self, site, slot_name, self._tls)
                self.slots[(site.lower(), slot_name.lower())] = slot
                changed = True
            else:
                changed = (config.get("linuxFxVersion") != slot.config.get("linuxFxVersion")
                           or settings != slot.app_settings
                           or config.get("acrUserManagedIdentityID") != slot.config.get("acrUserManagedIdentityID"))
                slot.resource = resource
                slot.config = {**slot.config, **config}
                slot.app_settings = settings
        if changed:  # outside the lock: the other slots' hosts keep answering while this one starts
            self._restart(slot)
        return slot

    def swap(self, site: str, source: str, target: str = PRODUCTION) -> None:
        """What a swap moves: the container and its settings, with the process running them; routing stays."""
        with self.lock:
            a, b = self.slot(site, source), self.slot(site, target)
            assert a is not None and b is not None
            for key in ("linuxFxVersion", "acrUseManagedIdentityCreds", "acrUserManagedIdentityID"):
                a.config[key], b.config[key] = b.config.get(key), a.config.get(key)
            a.app_settings, b.app_settings = b.app_settings, a.app_settings
            a.running, b.running = b.running, a.running
            a.start_error, b.start_error = b.start_error, a.start_error

    def _pullable(self, slot: Slot) -> tuple[Path | None, str]:
        image = str(slot.config.get("linuxFxVersion") or "")
        if not image.upper().startswith("DOCKER|"):
            return None, f"no container image in linuxFxVersion ({image!r})"
        reference = image[len("DOCKER|"):]
        registry = self.registries.get(reference.split("/", 1)[0].lower().removesuffix(".azurecr.io"))
        if registry is None or reference not in registry.images:
            return None, f"manifest for {reference} not found"
        client_id = str(slot.config.get("acrUserManagedIdentityID") or "")
        identity = next((i for i in self.identities.values() if i.client_id == client_id), None)
        registry_id = (f"/subscriptions/{self.subscription}/resourceGroups/{registry.resource_group}/providers/"
                       f"Microsoft.ContainerRegistry/registries/{registry.name}")
        allowed = identity is not None and self.role_assignments.holds(identity.principal_id, registry_id, ACR_PULL)
        if not allowed:
            return None, f"unauthorized: the identity {client_id or '(none)'} may not pull {reference}"
        return registry.images[reference], ""

    def resolve(self, value: str) -> str:
        """A Key Vault reference's secret (App Service leaves an unresolvable reference as it is)."""
        found = KEY_VAULT_REFERENCE.match(value)
        if not found or not found["uri"].lower().startswith(self.vault_url.lower() + "/secrets/"):
            return value
        name = found["uri"][len(self.vault_url) + len("/secrets/"):].strip("/").split("/")[0]
        secret = self.key_vault.get(name)
        return secret[1].value if secret else value

    def _restart(self, slot: Slot) -> None:
        if slot.running is not None:
            slot.running.stop()
            slot.running = None
        context_dir, slot.start_error = self._pullable(slot)
        if context_dir is None:
            return
        environ = {k: os.environ[k] for k in _HOST_VARIABLES if k in os.environ}
        environ.update(self.platform)
        environ.update({name: self.resolve(value) for name, value in slot.app_settings.items()})
        key = environ.pop("LLMOPS_ENDPOINT_KEY", None)
        slot.started += 1
        state_dir = self.work_dir / slot.site.lower() / slot.name.lower() / str(slot.started)
        try:
            slot.running = run_context(context_dir, state_dir=state_dir, endpoint=environ.get("LLMOPS_ENDPOINT"),
                                       deployment=environ.get("LLMOPS_DEPLOYMENT"), environ=environ, key=key,
                                       threads=4)
        except LlmopsError as error:
            slot.start_error = str(error)

    def staging_share(self, site: str) -> tuple[Slot | None, int]:
        """The slot the site's ramp-up rule names, and its percentage."""
        production = self.slot(site)
        rules = ((production.config.get("experiments") or {}).get("rampUpRules") or []) if production else []
        for rule in rules:
            target = next((s for (name, _), s in self.slots.items() if name == site.lower()
                           and s.front is not None and s.host == rule.get("actionHostName")), None)
            if target is not None:
                return target, int(float(rule.get("reroutePercentage") or 0))
        return None, 0

    def clear(self) -> None:
        with self.lock:
            for slot in self.slots.values():
                if slot.running is not None:
                    slot.running.stop()
                if slot.front is not None:
                    slot.front.stop()
            self.slots.clear()
            self.plans.clear()
            self.registries.clear()
            self.identities.clear()
            self.routed.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _FrontServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        front = self.server.front
        slot, cookie = front.choose(self.path, self.headers.get("Cookie", ""))
        running = slot.running if slot is not None else None
        if running is None:
            self._answer(503, {"Content-Type": "text/html"}, b"Application Error: the container did not start")
            return
        upstream = http.client.HTTPConnection("127.0.0.1", running.port, timeout=300)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            out = {k: v for k, v in answer.getheaders() if k.lower() not in _HOP_HEADERS}
        finally:
            upstream.close()
        if cookie:
            out["Set-Cookie"] = f"{ROUTING_NAME}={cookie}; path=/; secure; HttpOnly"
        self._answer(answer.status, out, data)

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        # One write for the head and the body: two small TLS writes meet the client's delayed ACK (40 ms each).
        head = f"{self.protocol_version} {status} {self.responses.get(status, ('',))[0]}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        self.wfile.write(head.encode("latin-1") + body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _FrontServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, front: _Front, tls: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.front = front
        self.socket = tls.wrap_socket(self.socket, server_side=True)


class _Front:
    """The host of one site or slot: a slot's answers only from that slot, the site's by the routing rules."""

    def __init__(self, apps: WebApps, site: str, slot: str, tls: ssl.SSLContext) -> None:
        self.apps, self.site, self.slot = apps, site, slot
        # Seeded per site, as the online endpoints' draw is: the same requests split the same way on every run.
        self._random = random.Random(f"{site}/{slot}")
        self._server = _FrontServer(self, tls)
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"webapp-{site}-{slot}", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def choose(self, target: str, cookie_header: str) -> tuple[Slot | None, str]:
        """(the slot to answer, the routing cookie to set or "")."""
        if self.slot != PRODUCTION:
            return self.apps.slot(self.site, self.slot), ""
        asked = dict(parse_qsl(urlsplit(target).query)).get(ROUTING_NAME) or _cookie(cookie_header, ROUTING_NAME)
        if asked:
            name = PRODUCTION if asked.lower() == "self" else asked
            return self.apps.slot(self.site, name), ""
        with self.apps.lock:
            staging, percent = self.apps.staging_share(self.site)
            if staging is not None and self._random.uniform(0, 100) < percent:
                self.apps.routed.append(staging.name)
                return staging, staging.name
            self.apps.routed.append(PRODUCTION)
            return self.apps.slot(self.site), "self"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""
