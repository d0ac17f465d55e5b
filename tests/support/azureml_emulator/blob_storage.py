"""The workspace's default blob store, kept in Azurite, as the emulator itself reads and writes it.

The SDK reaches the store at `https://<account>.blob.<storage_endpoint>` (it builds that URL from the
cloud's storage endpoint), which is Azurite's production-style URL: Azurite takes the account name
from the host. The emulator's own clients use Azurite's path-style URL on 127.0.0.1 instead.
"""

from __future__ import annotations

import datetime
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from azure.storage.blob import ContainerClient, ContainerSasPermissions, generate_container_sas

DATASTORE = "workspaceblobstore"
ARTIFACT_DATASTORE = "workspaceartifactstore"  # job logs, under ExperimentRun/dcid.<job name>/
ARTIFACT_CONTAINER = "azureml"
DOWNLOAD_THREADS = 8


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

    def container_client(self, container: str | None = None) -> ContainerClient:
        return ContainerClient(
            f"https://127.0.0.1:{self.port}/{self.account}",
            container or self.container,
            credential={"account_name": self.account, "account_key": self.key},
            connection_verify=self.ca_bundle,
        )

    def ensure_container(self, container: str | None = None) -> None:
        client = self.container_client(container)
        if not client.exists():
            client.create_container()

    def container_sas_url(self, container: str, *, write: bool) -> str:
        """The container's URL with a SAS, as `startPendingUpload` hands one out for a code snapshot."""
        expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        permission = ContainerSasPermissions(read=True, list=True, write=write, create=write, add=write)
        token = generate_container_sas(
            self.account, container, account_key=self.key, permission=permission, expiry=expiry
        )
        return f"{self.account_url}/{container}?{token}"

    def download(self, location: BlobLocation, destination: Path) -> list[Path]:
        """Copies the blobs under `location` into `destination`, keeping their paths below its prefix.

        A location naming one blob (a uri_file) lands as `destination/<its file name>`.
        """
        client = self.container_client(location.container)
        prefix = location.prefix
        wanted: dict[str, Path] = {}  # blob name -> local file
        for blob in client.list_blobs(name_starts_with=prefix):
            if prefix and blob.name != prefix and not blob.name.startswith(prefix + "/"):
                continue  # `data/a` must not pick up `data/ab`
            relative = blob.name[len(prefix) :].lstrip("/") if prefix else blob.name
            wanted[blob.name] = destination / (relative or Path(blob.name).name)

        def fetch(name: str) -> None:
            wanted[name].parent.mkdir(parents=True, exist_ok=True)
            wanted[name].write_bytes(client.download_blob(name).readall())

        # A job's code is a few hundred small files: one request each, so several at a time.
        with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
            list(pool.map(fetch, wanted))
        return list(wanted.values())

    def clear(self, location: BlobLocation) -> None:
        """Deletes the blobs under `location`."""
        client = self.container_client(location.container)
        for blob in list(client.list_blobs(name_starts_with=location.prefix.rstrip("/") + "/")):
            client.delete_blob(blob.name)

    def upload(self, source: Path, location: BlobLocation) -> int:
        """Copies the files under `source` to blobs under `location`; returns how many."""
        client = self.container_client(location.container)
        files = [p for p in sorted(source.rglob("*")) if p.is_file()]
        for path in files:
            with path.open("rb") as data:
                name = "/".join(filter(None, (location.prefix, path.relative_to(source).as_posix())))
                client.upload_blob(name, data, overwrite=True)
        return len(files)

    def locate(self, uri: str) -> BlobLocation | None:
        """Where in Azurite a data URI points: an `azureml://` datastore path or an `https://` blob URL."""
        found = _AZUREML_PATH.match(uri)
        if found and found["datastore"].lower() in (DATASTORE, ARTIFACT_DATASTORE):
            container = self.container if found["datastore"].lower() == DATASTORE else ARTIFACT_CONTAINER
            return BlobLocation(container, found["path"].strip("/"))
        https = f"{self.account_url}/".lower()
        if uri.lower().startswith(https):
            container, _, prefix = uri[len(https) :].split("?")[0].partition("/")
            return BlobLocation(container, prefix.strip("/"))
        return None

    def azureml_uri(self, location: BlobLocation) -> str:
        """The short datastore URI of a location (how job outputs are recorded)."""
        datastore = ARTIFACT_DATASTORE if location.container == ARTIFACT_CONTAINER else DATASTORE
        return f"azureml://datastores/{datastore}/paths/{location.prefix}/"


@dataclass(frozen=True)
class BlobLocation:
    container: str
    prefix: str  # a blob name, or a folder of blobs; no leading or trailing "/"


_AZUREML_PATH = re.compile(
    r"^azureml://(?:subscriptions/[^/]+/resourcegroups/[^/]+/workspaces/[^/]+/)?"
    r"datastores/(?P<datastore>[^/]+)/(?:paths/)?(?P<path>.*)$",
    re.IGNORECASE,
)
