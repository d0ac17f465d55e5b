"""The emulator by hand: `python -m tests.support.azureml_emulator [--env-file F]` starts Azurite and the emulator,
writes the variables a shell needs to point llmops at them, and serves until Ctrl-C.

    .venv/bin/python -m tests.support.azureml_emulator --env-file /tmp/emulator.env &
    set -a; . /tmp/emulator.env; set +a
    llmops azure check -u <use case> -e <env>  # BACKEND azureml, workspace llmops-ws in llmops-rg
    llmops run -u <use case> -e <that env> --provider replay

The emulator's job nodes are processes of this command: variables they need (LLMOPS_OFFLINE, an upstream's
address) are set in its environment before it starts.
"""

from __future__ import annotations

import argparse
import shlex
import tempfile
from pathlib import Path

from llmops.until_stopped import wait_until_stopped
from tests.support import azurite as azurite_support

from .blob_storage import BlobStorage
from .emulator import AzureMLEmulator
from .fixtures import CONTAINER
from .product import llmops_environment
from .tls import make_loopback_tls


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.azureml_emulator",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--env-file", type=Path, help="write the variables here too (KEY='value' lines)")
    args = parser.parse_args()
    reason = azurite_support.missing_reason() or azurite_support.host_name_reason()
    if reason:
        print(f"error: {reason}")
        return 1
    folder = Path(tempfile.mkdtemp(prefix="azureml-emulator-"))
    tls = make_loopback_tls(folder, ["localhost", azurite_support.HOST_NAME])
    azurite = azurite_support.start_azurite(folder, tls.cert, tls.key)
    storage = BlobStorage(azurite_support.ACCOUNT_NAME, azurite_support.ACCOUNT_KEY, azurite.port, CONTAINER,
                          str(tls.ca_bundle), azurite_support.STORAGE_DOMAIN)
    emulator = AzureMLEmulator(storage, tls.cert, tls.key, folder / "jobs")
    # The clients trust the emulator's and Azurite's throwaway certificate authority through these two.
    variables = {**llmops_environment(emulator), "REQUESTS_CA_BUNDLE": str(tls.ca_bundle),
                 "SSL_CERT_FILE": str(tls.ca_bundle)}
    lines = "".join(f"{name}={shlex.quote(value)}\n" for name, value in variables.items())
    if args.env_file:
        args.env_file.write_text(lines)
    scope = emulator.scope
    print(f"Azure ML emulator at {emulator.base_url} (workspace {scope.workspace} in resource group "
          f"{scope.resource_group}, Key Vault {scope.key_vault}); Azurite on port {azurite.port}; files in {folder}")
    print(lines, end="", flush=True)
    try:
        wait_until_stopped()
    finally:
        emulator.stop()
        azurite.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
