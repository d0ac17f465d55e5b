"""The workspace's default blob store, kept in Azurite, as the emulator itself reads and writes it.

The SDK reaches the store at `https://<account>.blob.<storage_endpoint>` (it builds that URL from the
cloud's storage endpoint), which is Azurite's production-style URL: Azurite takes the account name
from the host. The emulator's own clients use Azurite's path-style URL on 127.0.0.1 instead.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path

from azure.storage.blob import ContainerClient, ContainerSasPermissions, generate_container_sas

DATASTORE = "workspaceblobstore"


@dataclass(frozen=True)
class BlobStorage:
    account: str
    key: str
    port: int
    container: str
    ca_bundle: str  # the CA that signed Azurite's certificate
    domain: str  # the cloud's storage domain; `<account>.blob.<domain>` resolves to loopback

    @property
    def storage_endpoint(self) -> str:
        """What goes after `<account>.blob.` in the SDK's URLs: the cloud's storage endpoint."""
        return f"{self.domain}:{self.port}"

    @property
    def account_url(self) -> str:
        return f"https://{self.account}.blob.{self.storage_endpoint}"

    def container_client(self) -> ContainerClient:
        return ContainerClient(f"https://127.0.0.1:{self.port}/{self.account}", self.container,
                               credential={"account_name": self.account, "account_key": self.key},
                               connection_verify=self.ca_bundle)  # fmt: skip

    def ensure_container(self) -> None:
        client = self.container_client()
        if not client.exists():
            client.create_container()

    def sas_url(self, prefix: str, *, write: bool) -> str:
        """A URL with a container SAS for the blobs under `prefix`, as `startPendingUpload` hands out."""
        expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        permission = ContainerSasPermissions(read=True, list=True, write=write, create=write, add=write)
        token = generate_container_sas(self.account, self.container, account_key=self.key,
                                       permission=permission, expiry=expiry)  # fmt: skip
        return f"{self.account_url}/{self.container}/{prefix.strip('/')}?{token}"

    def download(self, prefix: str, destination: Path) -> list[Path]:
        """Copies the blobs under `prefix` into `destination`, keeping their paths below the prefix."""
        client = self.container_client()
        prefix = prefix.strip("/")
        written = []
        for blob in client.list_blobs(name_starts_with=prefix):
            relative = blob.name[len(prefix) :].lstrip("/") or Path(blob.name).name
            if blob.name != prefix and not blob.name.startswith(prefix + "/"):
                continue  # `data/a` must not pick up `data/ab`
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(client.download_blob(blob.name).readall())
            written.append(target)
        return written

    def upload(self, source: Path, prefix: str) -> int:
        """Copies the files under `source` to blobs under `prefix`; returns how many."""
        client = self.container_client()
        files = [p for p in sorted(source.rglob("*")) if p.is_file()]
        for path in files:
            with path.open("rb") as data:
                client.upload_blob(f"{prefix.strip('/')}/{path.relative_to(source).as_posix()}", data, overwrite=True)
        return len(files)


_AZUREML_PATH = re.compile(r"^azureml://(?:subscriptions/[^/]+/resourcegroups/[^/]+/workspaces/[^/]+/)?"
                           r"datastores/(?P<datastore>[^/]+)/paths/(?P<path>.*)$", re.IGNORECASE)  # fmt: skip


def blob_prefix(uri: str, storage: BlobStorage) -> str | None:
    """The blob path in the workspace store that a data URI names, or None when it names none."""
    found = _AZUREML_PATH.match(uri)
    if found and found["datastore"].lower() == DATASTORE:
        return found["path"].strip("/")
    https = f"{storage.account_url}/{storage.container}/".lower()
    if uri.lower().startswith(https):
        return uri[len(https) :].split("?")[0].strip("/")
    return None
