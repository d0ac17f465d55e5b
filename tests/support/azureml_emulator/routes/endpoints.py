"""Online endpoints and their deployments, created, updated and deleted through long-running operations.

A PUT answers 201 (new) or 200 (update) with provisioningState Creating/Updating and the operation
headers; a DELETE answers 202. The resource settles when its operation completes (see ..operations).
What the service checks is checked: the endpoint's naming rule, traffic that names only existing
deployments and adds up to 100 (or 0), mirror traffic of at most 50% to deployments without live
traffic, a Kubernetes endpoint's compute (attached, of type Kubernetes), a deployment under an
existing endpoint whose model and environment exist, the vCPU quota a managed deployment draws on
(OutOfQuota when the family has too few free), and no deletion of a deployment that still takes traffic.
A new endpoint gets its keys and a system-assigned identity (a principal id). A deployment runs for
real (..online_serving): its operation ends when its server answers, or fails with why it did not.
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from azure.ai.ml._restclient.arm_ml_service import models as rest

from ..context import Context
from ..errors import Problem, ServiceError, bad_request, not_found
from ..http import Request, Response, json_response, page
from ..quota import SIZES, TOTAL_DEDICATED
from ..resources import stamp
from ..rest_models import read_body
from ..routing import PROVIDER, WORKSPACE_PATH, Router
from .assets import check_name

TENANT = "72f988bf-0000-0000-0000-000000000000"

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

    def check_mirror(endpoint: str, traffic: dict[str, int] | None, mirror: dict[str, int] | None) -> None:
        deployments = {d["name"].lower() for d in store.children("onlineEndpoints", endpoint, "deployments")}
        live = {k.lower(): int(v) for k, v in (traffic or {}).items()}
        for name, share in (mirror or {}).items():
            if name.lower() not in deployments:
                raise bad_request(
                    f"Mirror traffic names a deployment that does not exist under endpoint {endpoint}: {name}.",
                    [Problem("InvalidValue", "Unknown deployment.", "properties.mirrorTraffic")],
                )
            if int(share) > 50:
                raise bad_request(f"Mirror traffic to {name} is {share}%; it can be at most 50%.",
                                  [Problem("InvalidValue", "At most 50.", "properties.mirrorTraffic")])
            if int(share) and live.get(name.lower()):
                raise bad_request(f"Deployment {name} takes live traffic and cannot also take mirror traffic.",
                                  [Problem("InvalidValue", "Live and mirror.", "properties.mirrorTraffic")])

    def check_compute(endpoint: Any) -> None:
        compute = endpoint.properties.get("compute")
        if not compute:
            return
        name = compute.rstrip("/").split("/")[-1]
        found = store.get("computes", name)
        if found is None or found["properties"].get("computeType") != "Kubernetes":
            raise bad_request(f"Compute {name} is not a Kubernetes compute attached to workspace {scope.workspace}.",
                              [Problem("InvalidValue", "Not a Kubernetes compute.", "properties.compute")])

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
            check_mirror(name, endpoint.properties.get("traffic"), endpoint.properties.get("mirrorTraffic"))
            check_compute(endpoint)
            properties = endpoint.properties
            properties["provisioningState"] = "Updating" if existing else "Creating"
            properties["scoringUri"] = f"{context.base_url}/inference/{name}/score"
            properties["swaggerUri"] = f"{context.base_url}/inference/{name}/swagger.json"
            if existing is not None:
                endpoint["systemData"] = existing.get("systemData")
                endpoint["identity"] = existing.get("identity")
            else:  # the service gives a new endpoint its system-assigned identity
                endpoint["identity"] = {"type": "SystemAssigned", "principalId": str(uuid.uuid4()), "tenantId": TENANT}
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
            if context.serving is not None:
                context.serving.stop_endpoint(params["endpoint"])
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

    def vcpus(deployment: Any) -> tuple[str, int]:
        """(the quota usage a managed deployment draws on, its vCPUs); ("", 0) for a Kubernetes one."""
        properties = deployment["properties"]
        if str(properties.get("endpointComputeType")) != "Managed":
            return "", 0
        size = next((s for s in SIZES if s.name.lower() == str(properties.get("instanceType", "")).lower()), None)
        capacity = int((deployment.get("sku") or {}).get("capacity") or 1)
        return (size.usage_name, size.vcpus * capacity) if size else ("", 0)

    def check_quota(endpoint: str, deployment: Any) -> None:
        usage, needed = vcpus(deployment)
        if not needed:
            return
        quota = context.quota
        others = [d for ep in store.children("onlineEndpoints") for d in store.children(
            "onlineEndpoints", ep["name"], "deployments") if not (ep["name"].lower() == endpoint.lower()
                                                                  and d["name"].lower() == deployment["name"].lower())]
        used = quota.in_use.get(usage, 0) + sum(n for u, n in map(vcpus, others) if u == usage)
        total = quota.in_use.get(TOTAL_DEDICATED, 0) + sum(n for _, n in map(vcpus, others))
        limit, total_limit = quota.limits.get(usage, 0), quota.limits.get(TOTAL_DEDICATED, 0)
        if used + needed > limit or total + needed > total_limit:
            size = deployment["properties"].get("instanceType")
            raise ServiceError(400, "OutOfQuota", (
                f"Not enough quota available for {size} in SubscriptionId {scope.subscription}. Current usage/limit: "
                f"{used}/{limit}. Additional needed: {needed}. Please see troubleshooting guide, available here: "
                "https://aka.ms/oe-tsg#error-outofquota"))

    def put_deployment(request: Request, params: dict[str, str]) -> Response:
        endpoint, name = params["endpoint"], params["deployment"]
        check_name(name, "deployment")
        parent = find("onlineEndpoints", endpoint)
        deployment = read_body(rest.OnlineDeployment, request.body)
        kubernetes = bool(parent.properties.get("compute"))
        if kubernetes != (str(deployment.properties.get("endpointComputeType")) == "Kubernetes"):
            raise bad_request(f"Deployment {name} must be of the endpoint's kind "
                              f"({'Kubernetes' if kubernetes else 'Managed'}).",
                              [Problem("InvalidValue", "Wrong kind.", "properties.endpointComputeType")])
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
        quota_error = None
        try:
            check_quota(endpoint, deployment)
        except ServiceError as error:
            quota_error = error
        failure = quota_error or context.faults.provisioning_failure(name)
        ready = None
        if failure is None and context.serving is not None:
            ready = context.serving.provision(endpoint, deployment)

        def done() -> None:
            try:
                if failure is not None:
                    raise failure
                if context.serving is not None:
                    context.serving.finish(endpoint, name)
            except ServiceError:
                settle(segments, "Failed")
                raise
            settle(segments)

        operation = context.operations.start(done, ready)
        return json_response(deployment, 200 if existing else 201,
                             context.operation_headers(operation.id, request.query["api-version"]))

    def delete_deployment(request: Request, params: dict[str, str]) -> Response:
        endpoint, name = params["endpoint"], params["deployment"]
        segments = ("onlineEndpoints", endpoint, "deployments", name)
        find(*segments)
        traffic = find("onlineEndpoints", endpoint).properties.get("traffic") or {}
        if any(k.lower() == name.lower() and int(v) > 0 for k, v in traffic.items()):
            raise bad_request(f"Deployment {name} takes traffic on endpoint {endpoint}; set its traffic to 0 first.")
        settle(segments, "Deleting")

        def remove() -> None:
            if context.serving is not None:
                context.serving.stop(endpoint, name)
            store.delete(*segments)

        return accepted(request, None, 202, remove)

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

    def score(request: Request, params: dict[str, str]) -> Response:
        if context.serving is None:
            raise ServiceError(503, "ServiceUnavailable", "Online deployments are not served by this emulator.")
        return context.serving.score(request, params)

    # The endpoints' scoring URL: a data plane of its own, authenticated by the endpoint's key, not a bearer token.
    router.add("POST", "/inference/{endpoint}/score", "inference", score, arm=False, public=True)
