"""The web app target against the emulator: azure-mgmt-web's real client, each slot a real endpoint server.

The mini use case's flow needs no LLM, so each release answers for real: its image's build context (written by
`llmops image build`, "pushed" to the emulator's registry) runs as the slot's process, reached through the site's
or the slot's own HTTPS host, which routes by the ramp-up percentage as App Service does.
"""

from __future__ import annotations

import collections
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from llmops.backends import default_backend
from llmops.backends.azureml.settings import azure_variables
from llmops.backends.azureml.webapp.deploy_target import WebAppDeployTarget
from llmops.backends.production_logs import CLIENT_ID_ENV, CONTAINER, URL_ENV, parse_segment
from llmops.backends.webapp import WebAppRouting
from llmops.backends.webapp_target import open_webapp
from llmops.config.use_case import load_use_case
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError
from llmops.serving.client import score
from llmops.serving.endpoint_key import EndpointKey
from llmops.serving.image.plan import planned_digest
from llmops.steps.deploy import DeployResult, deploy, rollback
from llmops.steps.image import build_image
from llmops.steps.register_model import register_model
from tests.support.azureml_emulator.emulator import AzureMLEmulator
from tests.support.azureml_emulator.product import ENV, use_environment, write_azure_use_case
from tests.support.cli import llmops
from tests.support.mini_use_case import edit_json

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]
pytestmark = pytest.mark.timeout(300)

APP, PLAN, REGISTRY, IDENTITY = "mini-app", "mini-plan", "llmopsacr", "mini-id"
PLANTED = "sk-planted-webapp-0123456789abcdef"
VAULT_VALUE = "sk-vault-only-fedcba9876543210"
CLASSIFY = "classify.py"
KEY_NAME = "the web app's key (Key Vault)"


def connection_json(key: str) -> str:
    return json.dumps({"api_key": key, "api_type": "azure", "api_base": "https://x.openai.azure.com/"})


def configure(folder: Path, **changes: object) -> None:
    block = {"ENV_NAME": ENV, "TEST_FILE_PATH": "sample-request.json", "CONNECTION_NAMES": ["aoai"],
             "REGISTRY_NAME": REGISTRY, "REGISTRY_RG_NAME": "llmops-rg", "APP_PLAN_NAME": PLAN,
             "WEB_APP_NAME": APP, "WEB_APP_RG_NAME": "llmops-rg", "WEB_APP_SKU": "S1", "USER_MANAGED_ID": IDENTITY,
             "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": "30", **changes}
    edit_json(folder / "configs/deployment_config.json", lambda data: data.__setitem__("webapp_endpoint", [block]))


class Release:
    """The mini use case on the emulator, and one call per lifecycle step a CD run makes."""

    def __init__(self, root: Path, emulator: AzureMLEmulator) -> None:
        self.root, self.emulator = root, emulator
        self.folder = write_azure_use_case(root, emulator, BACKEND="local")
        configure(self.folder)
        self.workspace = Workspace.find(root)
        emulator.web_apps.add_registry(REGISTRY, "llmops-rg")
        emulator.web_apps.add_identity(IDENTITY, "llmops-rg")
        emulator.context.roles.append("User Access Administrator")  # this login may grant the identity AcrPull
        emulator.key_vault.set_secret("llmops-connection-aoai", connection_json(VAULT_VALUE))

    @property
    def use_case(self):  # type: ignore[no-untyped-def]
        return load_use_case(self.workspace, "mini")

    def host(self, **changes: object) -> WebAppDeployTarget:
        if changes:
            configure(self.folder, **changes)
        variables = azure_variables(os.environ, self.root / ".env")
        use_case = self.use_case
        return open_webapp(use_case, ENV, lambda model: planned_digest(self.workspace, use_case, ENV, model), variables,
                           start_timeout=60)

    def register(self, word: str = "App", fail: bool = False) -> str:
        """A model version whose flow answers `word` (or raises), built and pushed; returns its release name."""
        source = self.folder / "flows/standard" / CLASSIFY
        text = source.read_text().replace('"App" if', f'"{word}" if')
        if fail:
            text = text.replace("    word =", "    raise RuntimeError('broken release')\n    word =")
        source.write_text(text)
        backend = default_backend(self.workspace)
        register_model(self.workspace, self.use_case, ENV, backend=backend)
        built = build_image(self.workspace, self.use_case, ENV, backend=backend, engine=False)
        self.emulator.web_apps.push_image(built.image.reference, built.context.folder)
        source.write_text(text.replace("    raise RuntimeError('broken release')\n", ""))
        return built.image.tag

    def deploy(self, host: WebAppDeployTarget) -> DeployResult:
        return deploy(self.workspace, self.use_case, ENV, host, backend=default_backend(self.workspace))

    def rollback(self, host: WebAppDeployTarget) -> tuple[dict[str, int], dict[str, int]]:
        """The live maps rolled back and restored."""
        undone, restored = rollback(self.workspace, self.use_case, ENV, target=host)
        return undone.split.live, restored.split.live


@pytest.fixture()
def release(tmp_path: Path, azureml_emulator: AzureMLEmulator, monkeypatch: pytest.MonkeyPatch) -> Release:
    use_environment(monkeypatch, azureml_emulator)
    azureml_emulator.context.roles.append("User Access Administrator")  # may grant the log container's role
    # The sites' hosts speak HTTPS with the session's certificate, which the endpoint client trusts through this.
    monkeypatch.setenv("SSL_CERT_FILE", os.environ["REQUESTS_CA_BUNDLE"])
    return Release(tmp_path / "repo", azureml_emulator)


def split_of(url: str, key_value: str, count: int) -> collections.Counter[str]:
    """Which release answered each of `count` requests through `url`, sent by 8 clients at once."""
    key = EndpointKey(KEY_NAME, key_value)

    def one(_: int) -> str:
        reply = score(url, {"url": "https://apps.example.com/z"}, key=key, timeout=30)
        assert reply.status == 200, reply.body
        return str(reply.deployment)

    with ThreadPoolExecutor(8) as pool:
        return collections.Counter(pool.map(one, range(count)))


def test_first_release_then_split_then_rollback_then_swap(release: Release) -> None:
    host = release.host()
    first = release.register("App")
    done = release.deploy(host)
    assert host.routing() == WebAppRouting(first, None, 0) and done.traffic.split.live == {first: 100}
    assert (done.deployment.name, done.deployment.slot) == (first, "production")
    assert [c.ok for c in done.smoke] == [True] and done.smoke[0].deployment == first
    tested = llmops(release.root, "test-endpoint", "-u", "mini", "-e", ENV, "--target", "webapp")
    assert tested.code == 0, tested.err
    assert f"sample-request.json: status 200 on {first}" in tested.out and "1 of 1 requests ok (https://" in tested.out

    second = release.register("Second")
    done = release.deploy(host)
    assert done.traffic.split.live == {first: 70, second: 30} and host.routing() == WebAppRouting(first, second, 30)
    assert [(c.ok, c.deployment) for c in done.smoke] == [(True, second)]  # tested on the slot, alone
    assert done.deployment.slot == "staging"

    url, key = host.scoring_url(), host.endpoint_key()
    answered = split_of(url, key, 1000)
    print(f"\n1000 requests through {url}: {dict(answered)} (configured {first}=70, {second}=30)")
    assert set(answered) == {first, second} and abs(answered[second] / 10 - 30) <= 3

    assert release.rollback(host) == ({first: 70, second: 30}, {first: 100})
    assert host.routing().live == {first: 100, second: 0}
    assert split_of(url, key, 50) == {first: 50}

    promoted = release.deploy(release.host(CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION="100"))  # the same release: a swap
    assert host.routing() == WebAppRouting(second, first, 0) and promoted.traffic.split.live == {second: 100, first: 0}
    assert split_of(url, key, 20) == {second: 20}
    assert release.rollback(host) == ({second: 100, first: 0}, {first: 100})
    after = host.routing()
    assert (after.production, after.staging, after.live) == (first, second, {first: 100, second: 0})
    assert split_of(url, key, 20) == {first: 20}
    status = llmops(release.root, "endpoint", "status", "-u", "mini", "-e", ENV, "--target", "webapp")
    assert status.code == 0, status.err
    assert status.out.splitlines()[:3] == [
        f"endpoint {APP} (webapp)", f"scoring url: {url}",
        f"deployment {first} (production slot): model mini_azure version 1, variant defaults, traffic 100%"]
    history = llmops(release.root, "endpoint", "traffic", "-u", "mini", "-e", ENV, "--target", "webapp")
    assert [line.split("  ")[0] for line in history.out.splitlines()] == [
        f"1: {first}=100", f"2: {first}=70,{second}=30", f"3: {first}=0,{second}=100"]


def test_a_failing_smoke_test_leaves_the_routing_as_it_was(release: Release) -> None:
    host = release.host()
    first = release.register("App")
    release.deploy(host)
    before = host.routing()
    broken = release.register("Broken", fail=True)
    done = llmops(release.root, "deploy", "-u", "mini", "-e", ENV, "--target", "webapp")
    message = done.err
    assert done.code == 1 and "Traceback" not in message
    assert (f"smoke test of deployment '{broken}' (model mini_azure version 2) on the staging slot of web app "
            "'mini-app' failed: sample-request.json: status 500") in message
    assert f"it stays at 0% for its logs (the next deploy updates it) and traffic is unchanged ({first}=100)" in message
    after = host.routing()
    assert (after.production, after.staging, after.staging_percent) == (first, broken, 0)
    assert (before.production, before.staging_percent, before.live) == (first, 0, {first: 100})
    assert after.live == {first: 100, broken: 0}
    assert split_of(host.scoring_url(), host.endpoint_key(), 30) == {first: 30}


def test_app_settings_hold_key_vault_references_never_values(
        release: Release, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    connection = connection_json(PLANTED)
    (release.root / ".env").write_text(f"aoai={connection}\nOPENAI_API_KEY={PLANTED}\n", encoding="utf-8")
    monkeypatch.setenv("aoai", connection)
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    caplog.set_level(logging.DEBUG)
    release.register("App")
    release.deploy(release.host())
    slot = release.emulator.web_apps.slot(APP)
    assert slot is not None
    vault = release.emulator.vault_url
    assert slot.app_settings["aoai"] == f"@Microsoft.KeyVault(SecretUri={vault}/secrets/llmops-connection-aoai/)"
    assert slot.app_settings["LLMOPS_ENDPOINT_KEY"] == (
        f"@Microsoft.KeyVault(SecretUri={vault}/secrets/llmops-endpoint-key-{APP}/)")
    assert slot.config["acrUseManagedIdentityCreds"] is True
    stored = repr(slot.app_settings) + repr(slot.config) + repr(slot.resource)
    servers = release.emulator.web_apps.work_dir.rglob("*.log")
    logs = caplog.text + "".join(p.read_text(errors="replace") for p in servers)
    for text in (stored, logs):
        assert PLANTED not in text and VAULT_VALUE not in text


def test_a_basic_plan_refuses_a_second_release_before_anything_changes(release: Release) -> None:
    host = release.host(WEB_APP_SKU="B1")
    first = release.register("App")
    release.deploy(host)
    release.register("Second")
    with pytest.raises(LlmopsError, match="WEB_APP_SKU 'B1' has no deployment slots, which a second release needs"):
        release.deploy(host)
    assert host.routing().live == {first: 100} and release.emulator.web_apps.slot(APP, "staging") is None


def test_no_right_to_grant_acr_pull_says_who_may_and_how(release: Release) -> None:
    release.emulator.faults.forbid("roleAssignments/write")
    release.register("App")
    with pytest.raises(LlmopsError) as refused:
        release.deploy(release.host())
    identity = release.emulator.web_apps.identities[IDENTITY]
    assert (f"ask an owner of the registry to run: az role assignment create --assignee-object-id "
            f"{identity.principal_id} --assignee-principal-type ServicePrincipal --role AcrPull --scope "
            f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/llmops-rg/providers/"
            f"Microsoft.ContainerRegistry/registries/{REGISTRY}") in str(refused.value)
    assert release.emulator.web_apps.slot(APP) is None


def test_the_web_app_ships_its_production_log_as_its_identity_and_a_stop_loses_nothing(release: Release) -> None:
    storage = release.emulator.context.storage
    client = storage.container_client(CONTAINER)
    # Azurite lives for the session: what earlier tests' web apps of this name shipped is there already.
    before = {b.name for b in client.list_blobs(name_starts_with=f"{APP}/")} if client.exists() else set()
    first = release.register("App")
    host = release.host()
    release.deploy(host)
    slot = release.emulator.web_apps.slot(APP)
    assert slot is not None and slot.running is not None
    identity = release.emulator.web_apps.identities[IDENTITY]
    assert slot.app_settings[URL_ENV] == f"{storage.account_url}/{CONTAINER}"
    assert slot.app_settings[CLIENT_ID_ENV] == identity.client_id
    container = (f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/llmops-rg/providers/"
                 f"Microsoft.Storage/storageAccounts/{storage.account}/blobServices/default/containers/{CONTAINER}")
    registry = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/llmops-rg/providers/"
                "Microsoft.ContainerRegistry/registries/llmopsacr")
    assert sorted(a["scope"] for a in release.emulator.context.role_assignments
                  if a["principalId"] == identity.principal_id) == [registry, container]  # pull the image, ship the log
    key = EndpointKey(KEY_NAME, host.endpoint_key())
    for i in range(5):
        assert score(host.scoring_url(), {"url": f"https://apps.example.com/{i}"}, key=key, timeout=30).status == 200
    slot.running.stop()  # SIGTERM, as App Service stops a container: the open segment is shipped before it exits
    names = sorted(b.name for b in client.list_blobs(name_starts_with=f"{APP}/") if b.name not in before)
    entries = [json.loads(line) for name in names for line in client.download_blob(name).readall().splitlines()]
    assert {parse_segment(name).deployment for name in names if parse_segment(name)} == {first}
    # Oldest first: each worker of the image's server ships segments of its own, so blob order is not time order.
    urls = [e["inputs"]["url"] for e in sorted(entries, key=lambda e: e["timestamp"])]
    assert [f"https://apps.example.com/{i}" for i in range(5)] == [u for u in urls if "/apps.example.com/" in u][-5:]
    # The deploy's smoke test reached the slot marked as a probe (post-prod-eval skips it); the users' requests not.
    smoke = json.loads((release.folder / "sample-request.json").read_text())["url"]
    assert {e["inputs"]["url"]: e.get("probe", False) for e in entries} == {
        smoke: True, **{f"https://apps.example.com/{i}": False for i in range(5)}}
    assert host.endpoint_key() not in "".join(urls)
