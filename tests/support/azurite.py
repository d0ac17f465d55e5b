"""Azurite, the Azure Storage emulator (npm `azurite`), as a blob service for one test session.

It listens on a free loopback port over HTTPS (the Azure ML SDK only builds `https://` blob URLs, and Azurite takes
bearer tokens over HTTPS only),
keeps blobs in memory, and sends nothing anywhere (telemetry off). `node_modules/` comes from
`npm ci` (package.json); without it, or without node, the tests that need it skip and say why.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AZURITE_BLOB = REPO / "node_modules" / ".bin" / "azurite-blob"

# Azurite's one built-in account and its published, well-known development key (not a secret).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

# The SDK builds a datastore's blob URL as `https://<account>.blob.<storage endpoint>`, and azure-storage-blob
# finds the account name only in a host of the form `<account>.blob.core.<...>`. So the emulator's storage
# endpoint is `core.localhost:<port>`, and this host name must resolve to loopback.
STORAGE_DOMAIN = "core.localhost"
HOST_NAME = f"{ACCOUNT_NAME}.blob.{STORAGE_DOMAIN}"

_LISTENING = re.compile(r"Blob service successfully listens on https?://127\.0\.0\.1:(\d+)")


def missing_reason() -> str | None:
    """Why Azurite cannot start here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed: Azurite (the Azure Storage emulator) runs on node"
    if not AZURITE_BLOB.exists():
        return "node_modules/azurite is missing: run `npm ci` in the repository root"
    return None


def host_name_reason() -> str | None:
    """Why the SDK's blob URLs would not reach Azurite here, or None when they will."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(HOST_NAME, None)}
    except OSError:
        addresses = set()
    if "127.0.0.1" in addresses:
        return None
    return (
        f"{HOST_NAME} does not resolve to 127.0.0.1: add the line '127.0.0.1 {HOST_NAME}' to /etc/hosts (.ci/run does)"
    )


@dataclass
class Azurite:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def path_style_url(self) -> str:
        """The account URL that reaches Azurite by IP (account in the path), for our own blob clients."""
        return f"https://127.0.0.1:{self.port}/{ACCOUNT_NAME}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_azurite(folder: Path, cert: Path, key: Path, timeout: float = 60.0) -> Azurite:
    """Starts Azurite's blob service on a free port with `folder` as its working folder."""
    log = folder / "azurite.log"
    with log.open("wb") as out:
        # Port 0 lets the OS pick a free port; Azurite prints the one it got. Without --silent it also
        # logs each request, which stays in the log file for debugging a failed test.
        process = subprocess.Popen(
            [
                str(AZURITE_BLOB),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                "0",
                "--inMemoryPersistence",
                "--extentMemoryLimit",
                "512",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--loose",
                # Bearer tokens are checked as Azure Storage checks their claims (issuer, audience, lifetime), not
                # their signature: what lets a managed identity's token (the emulator's) read and write blobs.
                "--oauth",
                "basic",
                "--cert",
                str(cert),
                "--key",
                str(key),
            ],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _LISTENING.search(log.read_text(errors="replace"))
        if found:
            return Azurite(process, int(found.group(1)), log)
        if process.poll() is not None:
            raise RuntimeError(f"Azurite exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError(f"Azurite did not start within {timeout:.0f} s: {log.read_text(errors='replace')[-2000:]}")
