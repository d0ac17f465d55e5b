"""Online endpoints and their deployments, created, updated and deleted through long-running operations.

A PUT answers 201 (new) or 200 (update) with provisioningState Creating/Updating and the operation
headers; a DELETE answers 202. The resource settles when its operation completes (see ..operations).
What the service checks is checked: the endpoint's naming rule, traffic that names only existing
deployments and adds up to 100 (or 0), a deployment under an existing endpoint whose model and
environment exist, and no deletion of a deployment that still takes traffic.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from azure.ai.ml._restclient.arm_ml_service import models as rest

from ..context import Context
from ..errors import Problem, ServiceError, bad_request, not_found
from ..http import Request, Response, json_response, page
from ..resources import stamp
from ..rest_models import read_body
from ..routing import PROVIDER, WORKSPACE_PATH, Router
from .assets import check_name

ENDPOINT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")
ENDPOINTS = WORKSPACE_PATH + "/onlineEndpoints"
# What the service fills in on a managed deployment that leaves it out (the SDK reads every one).
_PROBE = {"initialDelay": "PT10S", "period": "PT10S", "timeout": "PT2S", "successThreshold": 1, "failureThreshold": 30}
DEPLOYMENT_DEFAULTS = {
    "scaleSettings": {"scaleType": "Default"},
    "requestSettings": {"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1},
    "livenessProbe": _PROBE,
    "readinessProbe": _PROBE,
    "appInsightsEnabled": False,
    "egressPublicNetworkAccess": "Enabled",
}


def register(router: Router, context: Context) -> None:
    scope, store = context.scope, context.store

    def missing(*segments: str) -> ServiceError:
        return not_found(f"{PROVIDER}/workspaces/{scope.workspace}/" + "/".join(segments), scope.resource_group)

    def find(*segments: str) -> Any:
        found = store.get(*segments)
        if found is None:
            raise missing(*segments)
        return found

    def settle(segments: tuple[str, ...], state: str = "Succeeded") -> None:
        with store.lock:
            resource = store.get(*segments)
            if resource is not None:
                resource.properties["provisioningState"] = state
                store.put(resource, *segments)

    def accepted(request: Request, body: Any, status: int, on_done: Any) -> Response:
        operation = context.operations.start(on_done)
        return json_response(body, status, context.operation_headers(operation.id, request.query["api-version"]))

    def check_traffic(endpoint: str, traffic: dict[str, int] | None) -> None:
        if not traffic:
            return
        deployments = {d["name"].lower() for d in store.children("onlineEndpoints", endpoint, "deployments")}
        unknown = sorted(name for name in traffic if name.lower() not in deployments)
        if unknown:
            raise bad_request(
                f"Traffic names deployments that do not exist under endpoint {endpoint}: {', '.join(unknown)}.",
                [Problem("InvalidValue", "Unknown deployment.", "properties.traffic")],
            )
        total = sum(int(v) for v in traffic.values())
        if total not in (0, 100):
            raise bad_request(
                f"Traffic for endpoint {endpoint} adds up to {total}; it must add up to 100 (or 0).",
                [Problem("InvalidValue", "Traffic must add up to 100.", "properties.traffic")],
            )

    def put_endpoint(request: Request, params: dict[str, str]) -> Response:
        name = params["endpoint"]
        if not ENDPOINT_NAME.match(name):
            raise bad_request(
                f"Invalid endpoint name '{name}': it must be 3 to 32 characters, start with a letter, "
                "and contain only letters, digits and '-'.",
                [Problem("InvalidResourceName", "", "name")],
            )
        endpoint = read_body(rest.OnlineEndpoint, request.body)
        segments = ("onlineEndpoints", name)
        with store.lock:
            existing = store.get(*segments)
            check_traffic(name, endpoint.properties.get("traffic"))
            properties = endpoint.properties
            properties["provisioningState"] = "Updating" if existing else "Creating"
            properties["scoringUri"] = f"https://{name}.{scope.location}.inference.ml.azure.com/score"
            properties["swaggerUri"] = f"https://{name}.{scope.location}.inference.ml.azure.com/swagger.json"
            if existing is not None:
                endpoint["systemData"] = existing.get("systemData")
            stamp(endpoint, scope, *segments, created=existing is None)
            store.put(endpoint, *segments)
            if existing is None:
                store.extras(*segments)["keys"] = (secrets.token_urlsafe(24), secrets.token_urlsafe(24))
        return accepted(request, endpoint, 200 if existing else 201, lambda: settle(segments))

    def delete_endpoint(request: Request, params: dict[str, str]) -> Response:
        segments = ("onlineEndpoints", params["endpoint"])
        find(*segments)
        settle(segments, "Deleting")

        def remove() -> None:
            with store.lock:
                for deployment in store.children(*segments, "deployments"):
                    store.delete(*segments, "deployments", deployment["name"])
                store.delete(*segments)

        return accepted(request, None, 202, remove)

    def list_keys(request: Request, params: dict[str, str]) -> Response:
        segments = ("onlineEndpoints", params["endpoint"])
        endpoint = find(*segments)
        if str(endpoint.properties.get("authMode")).lower() != "key":
            raise bad_request(
                f"Endpoint {params['endpoint']} does not use key authentication; listKeys needs authMode Key."
            )
        primary, secondary = store.extras(*segments)["keys"]
        return json_response(rest.EndpointAuthKeys(primary_key=primary, secondary_key=secondary))

    def asset_exists(reference: str | None) -> bool:
        found = re.search(r"/(models|environments|codes)/([^/]+)/versions/([^/]+)$", reference or "")
        return reference is None or (
            found is not None and store.get(found[1], found[2], "versions", found[3]) is not None
        )

    def put_deployment(request: Request, params: dict[str, str]) -> Response:
        endpoint, name = params["endpoint"], params["deployment"]
        check_name(name, "deployment")
        find("onlineEndpoints", endpoint)
        deployment = read_body(rest.OnlineDeployment, request.body)
        properties = deployment.properties
        for key in ("model", "environmentId"):
            if not asset_exists(properties.get(key)):
                raise bad_request(
                    f"The {key} '{properties.get(key)}' of deployment {name} does not exist in workspace "
                    f"{scope.workspace}.",
                    [Problem("NotFound", "Asset not found.", f"properties.{key}")],
                )
        for key, value in DEPLOYMENT_DEFAULTS.items():
            properties.setdefault(key, value)
        deployment.setdefault("sku", {"name": "Default", "capacity": 1})
        segments = ("onlineEndpoints", endpoint, "deployments", name)
        with store.lock:
            existing = store.get(*segments)
            properties["provisioningState"] = "Updating" if existing else "Creating"
            if existing is not None:
                deployment["systemData"] = existing.get("systemData")
            stamp(deployment, scope, *segments, created=existing is None)
            store.put(deployment, *segments)
        return accepted(request, deployment, 200 if existing else 201, lambda: settle(segments))

    def delete_deployment(request: Request, params: dict[str, str]) -> Response:
        endpoint, name = params["endpoint"], params["deployment"]
        segments = ("onlineEndpoints", endpoint, "deployments", name)
        find(*segments)
        traffic = find("onlineEndpoints", endpoint).properties.get("traffic") or {}
        if any(k.lower() == name.lower() and int(v) > 0 for k, v in traffic.items()):
            raise bad_request(f"Deployment {name} takes traffic on endpoint {endpoint}; set its traffic to 0 first.")
        settle(segments, "Deleting")
        return accepted(request, None, 202, lambda: store.delete(*segments))

    def get(request: Request, params: dict[str, str]) -> Response:
        segments = ("onlineEndpoints", params["endpoint"])
        return json_response(
            find(*segments, "deployments", params["deployment"]) if "deployment" in params else find(*segments)
        )

    def list_endpoints(request: Request, params: dict[str, str]) -> Response:
        return page(store.children("onlineEndpoints"))

    def list_deployments(request: Request, params: dict[str, str]) -> Response:
        find("onlineEndpoints", params["endpoint"])
        return page(store.children("onlineEndpoints", params["endpoint"], "deployments"))

    endpoint_type, deployment_type = "workspaces/onlineEndpoints", "workspaces/onlineEndpoints/deployments"
    router.add("GET", ENDPOINTS, endpoint_type, list_endpoints)
    router.add("GET", ENDPOINTS + "/{endpoint}", endpoint_type, get)
    router.add("PUT", ENDPOINTS + "/{endpoint}", endpoint_type, put_endpoint)
    router.add("DELETE", ENDPOINTS + "/{endpoint}", endpoint_type, delete_endpoint)
    router.add("POST", ENDPOINTS + "/{endpoint}/listKeys", endpoint_type, list_keys, action="listKeys")
    router.add("GET", ENDPOINTS + "/{endpoint}/deployments", deployment_type, list_deployments)
    router.add("GET", ENDPOINTS + "/{endpoint}/deployments/{deployment}", deployment_type, get)
    router.add("PUT", ENDPOINTS + "/{endpoint}/deployments/{deployment}", deployment_type, put_deployment)
    router.add("DELETE", ENDPOINTS + "/{endpoint}/deployments/{deployment}", deployment_type, delete_deployment)
