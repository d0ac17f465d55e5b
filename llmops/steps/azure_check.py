"""Step: can this env work in its Azure ML workspace? One line per check: ok, or the problem and its fix.

In order: the credential (tokens for ARM and for Azure ML), the workspace, its default datastore, the
compute (the named cluster, or quota for serverless compute of the instance type in the workspace's
region), the Key Vault (when KEYVAULT_NAME is set) and the roles the identity holds on the workspace.
A check that cannot run without an earlier one is skipped when that one failed: nothing runs without a
credential, and nothing in the workspace once it is not found (a 403 on the workspace still lets the
others run, since each may be allowed on its own).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from azure.core.credentials import TokenCredential
from azure.core.pipeline.policies import RetryPolicy

from llmops.backends.azureml.credential import Identity, azure_credential, identity_of
from llmops.backends.azureml.errors import FORBIDDEN, azure_error, is_azure_error
from llmops.backends.azureml.key_vault import secret_names
from llmops.backends.azureml.quota import SizeQuota, size_quota
from llmops.backends.azureml.roles import REQUIRED_ACTIONS, missing_actions, role_for, workspace_permissions
from llmops.backends.azureml.settings import DEFAULT_INSTANCE_TYPE, AzureSettings, runtime_name_notice
from llmops.backends.azureml.workspace import ml_client

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

OK, PROBLEM, SKIPPED = "ok", "problem", "skipped"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, problem or skipped
    detail: str  # what was found, or the problem and its fix, or why it did not run


@dataclass(frozen=True)
class AzureCheckResult:
    checks: list[Check]
    notes: list[str] = field(default_factory=list)  # worth knowing, not a failure (an ignored RUNTIME_NAME)
    use_case: str = ""
    env: str = ""

    @property
    def ok(self) -> bool:
        return all(c.status != PROBLEM for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "use_case": self.use_case, "env": self.env, "notes": self.notes,
                "checks": [asdict(c) for c in self.checks]}


class _Problem(Exception):
    """A check found something wrong that is not an Azure error (no quota left, a role missing)."""


@dataclass
class _Checks:
    settings: AzureSettings
    done: list[Check] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # check name -> kind of Azure failure

    def skip(self, name: str, why: str) -> None:
        self.done.append(Check(name, SKIPPED, why))
        self.failures[name] = SKIPPED

    def run(self, name: str, check: Callable[[], str], needs: tuple[str, ...] = ()) -> None:
        # A workspace the identity may not read may still hold what it may use: only a 403 lets the rest go on.
        blocking = [n for n in needs if n in self.failures and not (n == "workspace" and self.failures[n] == FORBIDDEN)]
        if blocking:
            self.skip(name, f"needs the {blocking[0]}")
            return
        try:
            self.done.append(Check(name, OK, check()))
        except _Problem as problem:
            self.failures[name] = PROBLEM
            self.done.append(Check(name, PROBLEM, str(problem)))
        except Exception as error:
            if not is_azure_error(error):
                raise
            failure = azure_error(error, self.settings)
            self.failures[name] = failure.kind
            self.done.append(Check(name, PROBLEM, str(failure)))


def check_azure(
    settings: AzureSettings, credential: TokenCredential | None = None, *,
    retry_policy: RetryPolicy[Any, Any] | None = None,
) -> AzureCheckResult:
    credential = credential or azure_credential(settings.cloud)

    @functools.cache
    def ml() -> MLClient:
        # Built when a check in the workspace first runs: without a login none does, and importing azure-ai-ml
        # (seconds) would only delay the answer.
        return ml_client(settings, credential, retry_policy=retry_policy)

    checks = _Checks(settings)
    found: dict[str, Any] = {}  # what later checks use: the identity, the workspace's region

    def login() -> str:
        token = credential.get_token(settings.cloud.arm_scope).token
        credential.get_token(settings.cloud.aml_scope)
        found["identity"] = who = identity_of(credential, token)
        return f"{who.credential}: {who.name}, object id {who.object_id}, tenant {who.tenant_id}"

    def workspace() -> str:
        ws = ml().workspaces.get(settings.workspace)
        found["location"] = ws.location
        return f"'{ws.name}' in resource group '{settings.resource_group}', {ws.location}"

    def datastore() -> str:
        store = ml().datastores.get_default()
        where = "/".join(filter(None, (getattr(store, "account_name", ""), getattr(store, "container_name", ""))))
        return f"'{store.name}', the default" + (f": {where}" if where else "")

    in_workspace = ("credential", "workspace")
    checks.run("credential", login)
    checks.run("workspace", workspace, needs=("credential",))
    checks.run("datastore", datastore, needs=in_workspace)
    if settings.compute:
        checks.run("compute", lambda: _cluster(ml(), settings), needs=in_workspace)
    elif "location" in found:
        checks.run("compute", lambda: _serverless(settings, found["location"], credential, retry_policy))
    else:
        checks.skip("compute", "needs the credential" if "credential" in checks.failures else
                    "needs the workspace's region, for the quota of serverless compute")
    if settings.keyvault:
        checks.run("key vault", lambda: _vault(settings, credential, retry_policy), needs=("credential",))
    else:
        checks.skip("key vault", "KEYVAULT_NAME is not set")
    checks.run("roles", lambda: _roles(settings, credential, found.get("identity"), retry_policy), needs=in_workspace)
    return AzureCheckResult(checks.done, _notes(settings), settings.use_case, settings.env)


def _notes(settings: AzureSettings) -> list[str]:
    notes = [note for note in (runtime_name_notice(settings),) if note]
    if settings.backend != "azureml":
        notes.append(f"{settings.keys('BACKEND')}: '{settings.backend}': steps of env '{settings.env}' run on this "
                     "machine until it is \"azureml\"")
    return notes


def _cluster(ml: Any, settings: AzureSettings) -> str:
    compute = ml.compute.get(settings.compute)
    state = str(getattr(compute.provisioning_state, "value", compute.provisioning_state) or "")  # an enum or a str
    if state.lower() not in ("succeeded", ""):
        raise _Problem(f"{settings.keys('COMPUTE_NAME')}: compute '{settings.compute}' is {state}: repair or "
                       "recreate it in Azure ML studio, or name another")
    nodes = f", {compute.min_instances} to {compute.max_instances} nodes" if compute.type == "amlcompute" else ""
    return f"{compute.type} '{compute.name}': {compute.size}{nodes}"


def _serverless(settings: AzureSettings, location: str, credential: TokenCredential, policy: Any) -> str:
    quota = size_quota(settings, location, credential, policy)
    unset = settings.instance_type == DEFAULT_INSTANCE_TYPE
    key = settings.keys("INSTANCE_TYPE") + (f" (not set: {DEFAULT_INSTANCE_TYPE} is the default)" if unset else "")
    if not isinstance(quota, SizeQuota):
        close = difflib.get_close_matches(settings.instance_type, quota, n=5, cutoff=0.5)
        offered = ", ".join(quota if len(quota) <= 10 else close) or "none"
        raise _Problem(f"{key}: '{settings.instance_type}' is not a VM size of {location}; valid: {offered} (all "
                       f"{len(quota)}: az ml compute list-sizes -l {location} -o table)")
    family, total = quota.family_usage, quota.total
    if not quota.fits:
        free = f"{family.free} of {family.limit}" if family else "no quota"
        in_total = f", {total.free} of {total.limit} in the region's total" if total else ""
        raise _Problem(f"{key}: serverless {quota.size} needs {quota.vcpus} vCPUs of family {quota.family}, {free} "
                       f"free in {location}{in_total}: request more quota (Azure portal, Quotas, Machine learning) "
                       "or set a size with free quota")
    assert family is not None  # fits
    return (f"serverless {quota.size} ({quota.vcpus} vCPUs): {family.free} of {family.limit} vCPUs free in "
            f"family {quota.family} in {location}")


def _vault(settings: AzureSettings, credential: TokenCredential, policy: Any) -> str:
    if not settings.cloud.keyvault_url:
        raise _Problem(f"LLMOPS_AZURE_CLOUD_METADATA: keyvault_url missing: give the URL of a vault there, with "
                       f"{{name}} for its name, and keyvault_resource, to reach key vault '{settings.keyvault}'")
    names = secret_names(settings, credential, policy)
    return f"'{settings.keyvault}': {len(names)}{'+' if len(names) >= 25 else ''} secret(s) listed"


def _roles(settings: AzureSettings, credential: TokenCredential, identity: Identity | None, policy: Any) -> str:
    missing = missing_actions(workspace_permissions(settings, credential, policy))
    if not missing:
        return f"the {len(REQUIRED_ACTIONS)} actions llmops needs on workspace '{settings.workspace}'"
    by_role: dict[str, list[str]] = {}
    for action in missing:
        by_role.setdefault(role_for(action), []).append(action.removeprefix("Microsoft.MachineLearningServices/"))
    oid = identity.object_id if identity and identity.object_id else "<your object id>"
    fixes = "; ".join(f"{', '.join(actions)}, which the role '{role}' grants: az role assignment create "
                      f"--assignee-object-id {oid} --role \"{role}\" --scope {settings.workspace_id}"
                      for role, actions in by_role.items())
    raise _Problem(f"missing on workspace '{settings.workspace}': {fixes}")
