"""Job inputs made local: data URIs and data asset references downloaded from Azurite into a node's folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..blob_storage import BlobLocation
from ..context import Context


class JobFailure(Exception):
    """Ends a job as Failed, with this message as its error."""


@dataclass(frozen=True)
class LocalInput:
    kind: str  # uri_file, uri_folder, mltable, literal, ...
    value: str  # the local path (file or folder), or the literal value
    uri: str | None = None  # where it came from


_ASSET_ID = re.compile(r"/data/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$", re.IGNORECASE)
_SHORT_ASSET = re.compile(r"^azureml:(?P<name>[^:/@]+)(?::(?P<version>[^:/@]+)|@(?P<label>latest))?$")


def _data_asset_uri(context: Context, uri: str) -> str | None:
    """The dataUri of a data asset a job names (`azureml:reviews:3`, `azureml:reviews@latest`, an ARM id)."""
    found = _ASSET_ID.search(uri) or _SHORT_ASSET.match(uri)
    if not found:
        return None
    name, version = found["name"], found.groupdict().get("version")
    if not version:
        versions = context.store.children("data", name, "versions")
        if not versions:
            raise JobFailure(f"Data asset {name} has no version.")
        version = versions[-1]["name"]
    asset = context.store.get("data", name, "versions", version)
    if asset is None:
        raise JobFailure(f"Data asset {name}:{version} was not found in workspace {context.scope.workspace}.")
    return str(asset.properties["dataUri"])


def locate(context: Context, uri: str) -> BlobLocation:
    """Where in Azurite the data a job input names lives."""
    asset_uri = _data_asset_uri(context, uri)
    location = context.storage.locate(asset_uri or uri)
    if location is None:
        raise JobFailure(f"Cannot read input '{uri}': only the workspace's datastores are emulated.")
    return location


def fetch(context: Context, job_input: dict[str, Any], destination: Path) -> LocalInput:
    """Downloads one input under `destination`; returns what a `${{inputs.name}}` binding resolves to."""
    kind = str(job_input.get("jobInputType") or job_input.get("job_input_type") or "literal")
    if kind == "literal":
        return LocalInput(kind, str(job_input.get("value", "")))
    uri = str(job_input["uri"])
    destination.mkdir(parents=True, exist_ok=True)
    files = context.storage.download(locate(context, uri), destination)
    if not files:
        raise JobFailure(f"Input '{uri}' is empty or does not exist.")
    if kind == "uri_file":
        return LocalInput(kind, str(files[0]), uri)
    return LocalInput(kind, str(destination), uri)


def fetch_code(context: Context, code_id: str, destination: Path) -> Path:
    """Downloads a code asset (its ARM id, as a job's codeId) into `destination`."""
    found = re.search(r"/codes/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$", code_id.removeprefix("azureml:"))
    code = context.store.get("codes", found["name"], "versions", found["version"]) if found else None
    if code is None:
        raise JobFailure(f"Code asset '{code_id}' was not found.")
    location = context.storage.locate(str(code.properties["codeUri"]))
    if location is None:
        raise JobFailure(f"Code asset '{code_id}' is not in the workspace's storage.")
    destination.mkdir(parents=True, exist_ok=True)
    context.storage.download(location, destination)
    return destination
