"""`llmops azure check`: whether an env can work in its Azure ML workspace, one line per check."""

from __future__ import annotations

import argparse
import os

from llmops.cli.common import add_json, add_use_case, out, out_json, workspace

NAME = "azure"
HELP = "check that an env can work in its Azure ML workspace: llmops azure check -u NAME -e ENV"
DESCRIPTION = ("check: whether an env can work in its Azure ML workspace: its login, the workspace, its default "
               "datastore, the compute (or serverless quota), the Key Vault and the roles the identity holds; one "
               "line each, ok or the problem and its fix. Exit code 0 when all are ok, 1 otherwise.")
EXAMPLE = "llmops azure check --use-case web_classification --env dev"
EPILOG = """
settings: WORKSPACE_NAME, RESOURCE_GROUP_NAME, KEYVAULT_NAME, COMPUTE_NAME (a compute cluster) or INSTANCE_TYPE
(serverless VM size, default Standard_DS3_v2) in the env of llmops_config.json; AZURE_SUBSCRIPTION_ID in the
environment or .env. Login: DefaultAzureCredential (az login, azure/login with OIDC, or a managed identity;
AZURE_TOKEN_CREDENTIALS narrows it). Other clouds: LLMOPS_AZURE_CLOUD (AzureChinaCloud, AzureUSGovernment, or a
name of your own with LLMOPS_AZURE_CLOUD_METADATA, a JSON object of its endpoints)."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION  # the parser's own would lower-case "Azure ML" and "Key Vault"
    parser.epilog = (parser.epilog or "") + "\n" + EPILOG
    parser.add_argument("action", choices=["check"], metavar="check")
    add_use_case(parser)
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from llmops.backends.azureml.settings import azure_settings, azure_variables
    from llmops.backends.azureml.workspace import quiet_sdk_logs
    from llmops.config.use_case import load_use_case
    from llmops.steps.azure_check import OK, SKIPPED, check_azure

    if not args.verbose:
        quiet_sdk_logs()
    ws = workspace(args)
    use_case = load_use_case(ws, args.use_case)
    settings = azure_settings(use_case, args.env, azure_variables(os.environ, ws.root / ".env"))
    result = check_azure(settings)
    if args.json:
        out_json(result.to_dict())
        return 0 if result.ok else 1
    for note in result.notes:
        out(f"note: {note}")
    for check in result.checks:
        shown = {OK: f"ok ({check.detail})", SKIPPED: f"skipped ({check.detail})"}.get(check.status, check.detail)
        out(f"{check.name}: {shown}")
    failed = sum(1 for c in result.checks if c.status not in (OK, SKIPPED))
    if failed:
        out(f"{failed} of {len(result.checks)} checks failed")
    return 0 if result.ok else 1
