"""Versioned assets: data, code, environments, components and models, each a container of versions.

What the service enforces and the SDK relies on: names follow the ARM naming rule; a version's path
(dataUri, codeUri, modelUri) cannot change once stored; the container reports latestVersion and
nextVersion (the SDK's auto-increment reads nextVersion); list filters by listViewType, $orderBy, $top,
tags, and a code's content hash. Environments are recorded, never built.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.ai.ml._restclient.arm_ml_service import models as rest
from azure.ai.ml._restclient.arm_ml_service._utils.model_base import Model, _deserialize

from ..context import Context
from ..errors import Problem, ServiceError, bad_request, not_found
from ..http import Request, Response, json_response, page
from ..resources import stamp
from ..rest_models import read_body
from ..routing import PROVIDER, WORKSPACE_PATH, Router

# The rule the REST spec gives every workspace asset, job, datastore and endpoint name.
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$")


def check_name(name: str, what: str) -> None:
    if not NAME_PATTERN.match(name):
        message = (
            f"Invalid {what} name '{name}': a name must start with a letter or a digit and contain only "
            "letters, digits, '-' and '_', at most 255 characters."
        )
        raise bad_request(message, [Problem("InvalidResourceName", message, "name")])


def _needs_image_or_build(properties: dict[str, Any]) -> list[Problem]:
    if properties.get("image") or properties.get("build"):
        return []
    return [Problem("Required", "An environment needs a Docker image or a Docker build context.", "properties.image")]


@dataclass(frozen=True)
class AssetKind:
    segment: str  # the path segment: data, codes, environments, components, models
    version_model: type[Model]
    container_model: type[Model]
    uri_property: str | None  # the property that cannot change once a version exists
    container_properties: Callable[[dict[str, Any]], dict[str, Any]] = lambda properties: {}
    extra_checks: Callable[[dict[str, Any]], list[Problem]] = lambda properties: []
    defaults: tuple[tuple[str, Any], ...] = ()  # what the service fills in when a request leaves it out


KINDS = (
    AssetKind(
        "data",
        rest.DataVersionBase,
        rest.DataContainer,
        "dataUri",
        container_properties=lambda p: {"dataType": p["dataType"]},
    ),
    AssetKind("codes", rest.CodeVersion, rest.CodeContainer, "codeUri"),
    AssetKind(
        "environments", rest.EnvironmentVersion, rest.EnvironmentContainer, None, extra_checks=_needs_image_or_build
    ),
    AssetKind("components", rest.ComponentVersion, rest.ComponentContainer, None),
    AssetKind("models", rest.ModelVersion, rest.ModelContainer, "modelUri", defaults=(("flavors", {}),)),
)


def _version_order(version: str) -> tuple[int, int | str]:
    return (0, int(version)) if version.isdigit() else (1, version)


def _matches_tags(model: Any, wanted: str) -> bool:
    """`tags=a=1,b` keeps versions tagged a=1 that also carry a tag b."""
    tags = model.properties.get("tags") or {}
    for condition in filter(None, wanted.split(",")):
        key, _, value = condition.partition("=")
        if key not in tags or (value and tags[key] != value):
            return False
    return True


class Assets:
    def __init__(self, context: Context, kind: AssetKind) -> None:
        self.context = context
        self.kind = kind

    def _missing(self, *segments: str) -> ServiceError:
        path = "/".join((self.kind.segment, *segments))
        return not_found(
            f"{PROVIDER}/workspaces/{self.context.scope.workspace}/{path}", self.context.scope.resource_group
        )

    def versions(self, name: str) -> list[Any]:
        return sorted(
            self.context.store.children(self.kind.segment, name, "versions"), key=lambda v: _version_order(v["name"])
        )

    def put_version(self, request: Request, params: dict[str, str]) -> Response:
        name, version = params["name"], params["version"]
        check_name(name, self.kind.segment)
        model = read_body(self.kind.version_model, request.body)
        properties = model["properties"]
        for key, value in self.kind.defaults:
            properties.setdefault(key, value)
        problems = self.kind.extra_checks(properties)
        if problems:
            raise bad_request(" ".join(p.message for p in problems), problems)
        store = self.context.store
        with store.lock:
            existing = store.get(self.kind.segment, name, "versions", version)
            uri = self.kind.uri_property
            if existing is not None and uri and existing.properties.get(uri) != properties.get(uri):
                raise bad_request("Asset paths cannot be updated.")
            if existing is not None:
                model["systemData"] = existing.get("systemData")
            if "provisioningState" in {rf._rest_name for rf in type(properties)._attr_to_rest_field.values()}:
                properties["provisioningState"] = "Succeeded"
            stamp(model, self.context.scope, self.kind.segment, name, "versions", version, created=existing is None)
            store.put(model, self.kind.segment, name, "versions", version)
            self._update_container(name, properties)
        return json_response(model, 201 if existing is None else 200)

    def _update_container(self, name: str, latest: dict[str, Any]) -> None:
        versions = [v["name"] for v in self.versions(name)]
        numbers = [int(v) for v in versions if v.isdigit()]
        existing = self.context.store.get(self.kind.segment, name)
        properties = {
            **self.kind.container_properties(latest),
            "latestVersion": versions[-1],
            "nextVersion": str(max(numbers) + 1) if numbers else "1",
            "isArchived": False,
        }
        if existing is not None:
            properties["description"] = existing.properties.get("description")
            properties["tags"] = existing.properties.get("tags")
        container = _deserialize(self.kind.container_model, {"properties": properties})
        if existing is not None:
            container["systemData"] = existing.get("systemData")
        stamp(container, self.context.scope, self.kind.segment, name, created=existing is None)
        self.context.store.put(container, self.kind.segment, name)

    def get_version(self, request: Request, params: dict[str, str]) -> Response:
        found = self.context.store.get(self.kind.segment, params["name"], "versions", params["version"])
        if found is None:
            raise self._missing(params["name"], "versions", params["version"])
        return json_response(found)

    def list_versions(self, request: Request, params: dict[str, str]) -> Response:
        query = request.query
        if "hash" in query:
            # The SDK names each code snapshot anew and looks it up by content hash across all names before
            # uploading it again (it reads name and version back from the id of what it finds).
            names = [c["name"] for c in self.context.store.children(self.kind.segment)]
            found = [
                v
                for name in names
                for v in self.versions(name)
                if (v.properties.get("properties") or {}).get("hash_sha256") == query["hash"]
            ]
        else:
            found = self.versions(params["name"])
        view = query.get("listViewType", "ActiveOnly")
        if view != "All":
            archived = view == "ArchivedOnly"
            found = [v for v in found if bool(v.properties.get("isArchived")) == archived]
        if "tags" in query:
            found = [v for v in found if _matches_tags(v, query["tags"])]
        if "createdtime desc" in query.get("$orderBy", "").lower() or "$top" in query:
            found.reverse()  # newest first
        if "$top" in query:
            found = found[: int(query["$top"])]
        return page(found)

    def get_container(self, request: Request, params: dict[str, str]) -> Response:
        found = self.context.store.get(self.kind.segment, params["name"])
        if found is None:
            raise self._missing(params["name"])
        return json_response(found)

    def list_containers(self, request: Request, params: dict[str, str]) -> Response:
        return page(self.context.store.children(self.kind.segment))

    def delete_version(self, request: Request, params: dict[str, str]) -> Response:
        deleted = self.context.store.delete(self.kind.segment, params["name"], "versions", params["version"])
        return Response(200 if deleted else 204)

    def start_pending_upload(self, request: Request, params: dict[str, str]) -> Response:
        """A fresh blob container and a SAS for it, for the SDK to upload a code snapshot into."""
        read_body(rest.PendingUploadRequestDto, request.body)
        storage = self.context.storage
        container = f"{uuid.uuid4()}-{uuid.uuid4().hex[:8]}"
        storage.ensure_container(container)
        storage_id = (
            f"/subscriptions/{self.context.scope.subscription}/resourceGroups/"
            f"{self.context.scope.resource_group}/providers/Microsoft.Storage/storageAccounts/"
            f"{storage.account}"
        )
        body = {
            "blobReferenceForConsumption": {
                "blobUri": f"{storage.account_url}/{container}",
                "storageAccountArmId": storage_id,
                "credential": {"credentialType": "SAS", "sasUri": storage.container_sas_url(container, write=True)},
            },
            "pendingUploadId": container,
            "pendingUploadType": "TemporaryBlobReference",
        }
        return json_response(_deserialize(rest.PendingUploadResponseDto, body))


def register(router: Router, context: Context) -> None:
    for kind in KINDS:
        assets = Assets(context, kind)
        base = f"{WORKSPACE_PATH}/{kind.segment}"
        rtype = f"workspaces/{kind.segment}"
        router.add("GET", base, rtype, assets.list_containers)
        router.add("GET", base + "/{name}", rtype, assets.get_container)
        router.add("GET", base + "/{name}/versions", rtype + "/versions", assets.list_versions)
        router.add("GET", base + "/{name}/versions/{version}", rtype + "/versions", assets.get_version)
        router.add("PUT", base + "/{name}/versions/{version}", rtype + "/versions", assets.put_version)
        router.add("DELETE", base + "/{name}/versions/{version}", rtype + "/versions", assets.delete_version)
        if kind.segment == "codes":
            router.add(
                "POST",
                base + "/{name}/versions/{version}/startPendingUpload",
                rtype + "/versions",
                assets.start_pending_upload,
                action="startPendingUpload",
            )
