"""Which Azure ML workspace an env uses and how to reach it: read once, at the CLI edge, then passed in.

From the env in llmops_config.json: RESOURCE_GROUP_NAME, WORKSPACE_NAME, KEYVAULT_NAME, COMPUTE_NAME,
INSTANCE_TYPE, INSTANCE_COUNT, MAX_CONCURRENCY_PER_INSTANCE (and RUNTIME_NAME, which is ignored). From the
process environment, then the repository's `.env`: AZURE_SUBSCRIPTION_ID (CI sets it in the environment, a
laptop may keep it in .env), LLMOPS_AZURE_CLOUD and LLMOPS_AZURE_CLOUD_METADATA (see cloud.py). No key or
secret: the credential (credential.py) finds the identity itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from llmops.backends.azureml.cloud import AzureCloud, read_cloud
from llmops.config.problems import display_path
from llmops.config.use_case import CONFIG_FILES, UseCase
from llmops.errors import LlmopsError

SUBSCRIPTION = "AZURE_SUBSCRIPTION_ID"
CLOUD = "LLMOPS_AZURE_CLOUD"
CLOUD_METADATA = "LLMOPS_AZURE_CLOUD_METADATA"
VARIABLES = (SUBSCRIPTION, CLOUD, CLOUD_METADATA)
DEFAULT_INSTANCE_TYPE = "Standard_DS3_v2"  # 4 vCPUs, 14 GB: a small CPU size every region offers
RUNTIME_RETIRED = (
    "prompt flow runtimes retire with prompt flow on 2027-04-20; llmops runs its own engine in Azure ML jobs: "
    "remove RUNTIME_NAME and set COMPUTE_NAME or INSTANCE_TYPE"
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class ConfigKeys:
    """Where an env's keys are, so a message names the file and key: `keys("WORKSPACE_NAME")`."""

    file: str  # use_cases/<name>/llmops_config.json
    env_index: int

    def __call__(self, key: str) -> str:
        return f"{self.file}: envs[{self.env_index}].{key}"


@dataclass(frozen=True)
class AzureSettings:
    use_case: str
    env: str
    backend: str
    subscription_id: str
    subscription_from: str  # "the environment" or ".env": where AZURE_SUBSCRIPTION_ID was found
    resource_group: str
    workspace: str
    cloud: AzureCloud
    keys: ConfigKeys
    keyvault: str = ""
    compute: str = ""  # a compute cluster's name; "" runs on serverless compute
    instance_type: str = DEFAULT_INSTANCE_TYPE  # serverless compute's VM size
    instance_count: int = 1  # nodes a step's job runs on
    max_concurrency_per_instance: int = 1  # worker processes per node
    failed_line_threshold: float = 0.2  # FAILED_LINE_THRESHOLD: the share of a job's lines it may lose
    runtime_name: str = ""

    @property
    def workspace_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace}"
        )


@dataclass(frozen=True)
class AzureVariables:
    """AZURE_SUBSCRIPTION_ID and the cloud variables, and where each was found."""

    values: Mapping[str, str] = field(default_factory=dict)
    from_env_file: frozenset[str] = frozenset()  # the names read from .env rather than the environment

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def source(self, name: str) -> str:
        return ".env" if name in self.from_env_file else "the environment"


def azure_variables(environ: Mapping[str, str], env_file: Path) -> AzureVariables:
    """The variables above, each from `environ` when set there, else from `env_file` (the repository's .env)."""
    from dotenv import dotenv_values

    from_file = {k: (v or "").strip() for k, v in dotenv_values(env_file).items()} if env_file.is_file() else {}
    values, read_from_file = {}, set()
    for name in VARIABLES:
        if environ.get(name, "").strip():
            values[name] = environ[name].strip()
        elif from_file.get(name):
            values[name] = from_file[name]
            read_from_file.add(name)
    return AzureVariables(values, frozenset(read_from_file))


def azure_settings(use_case: UseCase, env: str, variables: AzureVariables) -> AzureSettings:
    """The settings of `env`, or an LlmopsError naming every missing or malformed one, each with its fix."""
    config = use_case.env(env)
    keys = ConfigKeys(display_path(use_case.folder / CONFIG_FILES["llmops"], use_case.root),
                      use_case.llmops.envs.index(config))
    problems: list[str] = []
    subscription = variables.get(SUBSCRIPTION)
    where = variables.source(SUBSCRIPTION)
    if not subscription:
        problems.append(f"{SUBSCRIPTION} is not set: put it in .env or the environment "
                        "(az account show --query id -o tsv)")
    elif not _GUID.match(subscription):
        problems.append(f"{SUBSCRIPTION} is '{subscription}' (from {where}): not a subscription id, which is a GUID "
                        "such as 00000000-0000-0000-0000-000000000000 (az account show --query id -o tsv)")
    for key, what in (("RESOURCE_GROUP_NAME", "the resource group of your Azure ML workspace"),
                      ("WORKSPACE_NAME", "your Azure ML workspace's name")):
        if not getattr(config, key).strip():
            problems.append(f"{keys(key)}: empty; set it to {what}")
    if config.COMPUTE_NAME.strip() and config.INSTANCE_TYPE.strip():
        problems.append(f"{keys('INSTANCE_TYPE')}: '{config.INSTANCE_TYPE}' is for serverless compute, but "
                        f"COMPUTE_NAME names cluster '{config.COMPUTE_NAME}'; keep one of the two")
    cloud = read_cloud(variables.get(CLOUD), variables.get(CLOUD_METADATA), problems)
    if problems or cloud is None:
        raise LlmopsError("\n".join(problems))
    return AzureSettings(
        use_case=use_case.name, env=env, backend=config.BACKEND, subscription_id=subscription,
        subscription_from=where, resource_group=config.RESOURCE_GROUP_NAME.strip(),
        workspace=config.WORKSPACE_NAME.strip(), cloud=cloud, keys=keys, keyvault=config.KEYVAULT_NAME.strip(),
        compute=config.COMPUTE_NAME.strip(), instance_type=config.INSTANCE_TYPE.strip() or DEFAULT_INSTANCE_TYPE,
        instance_count=config.INSTANCE_COUNT, max_concurrency_per_instance=config.MAX_CONCURRENCY_PER_INSTANCE,
        failed_line_threshold=config.FAILED_LINE_THRESHOLD,
        runtime_name=config.RUNTIME_NAME.strip(),
    )


def runtime_name_notice(settings: AzureSettings) -> str | None:
    """What to say, once per command, when an azureml env still names a prompt flow runtime; None otherwise."""
    if settings.backend != "azureml" or not settings.runtime_name:
        return None
    return f"{settings.keys('RUNTIME_NAME')}: '{settings.runtime_name}' is ignored: {RUNTIME_RETIRED}"
