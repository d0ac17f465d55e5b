"""App Service (Microsoft.Web) and what a web app for containers needs around it, as azure-mgmt-web 11 calls them.

Plans (serverfarms), sites and their slots, a site's web configuration (container, ramp-up rules), its app
settings, slot swaps (a long-running POST), tags at a site's scope, and beside them the resource group, the
container registry and user-assigned identities (role assignments on a registry are routes/authorization.py's).
Bodies are read with azure-mgmt-web's own models (checked as rest_models checks azure-ai-ml's, then deserialized
with the SDK's model_base), and what App Service refuses is refused: an unknown SKU, a site on a plan that does not
exist, a slot on a tier without slots (Free, Shared, Basic), an identity the site was not given, a ramp-up rule to
a host that is not one of the site's slots. Sites and slots run in ..web_apps.
"""

from __future__ import annotations

import json
import re
from typing import Any

from azure.mgmt.web import models as web
from azure.mgmt.web._utils.model_base import _deserialize

from ..context import Context
from ..errors import Problem, ServiceError, bad_request
from ..http import Request, Response, json_response
from ..rest_models import check_model
from ..routing import Router
from ..web_apps import PRODUCTION, SETTING_NAME, WebApps

WEB_API_VERSIONS = ("2022-09-01", "2023-01-01", "2023-12-01", "2024-04-01", "2024-11-01", "2025-03-01", "2025-05-01")
GROUP = "/subscriptions/{subscription}/resourceGroups/{resource_group}"
SITES = GROUP + "/providers/Microsoft.Web/sites/{site}"
SLOT = SITES + "/slots/{slot}"
SKU = re.compile(r"^(F1|D1|B[1-3]|S[1-3]|P[0-5]m?v[23]|I[1-6]m?v2|P[1-3])$", re.IGNORECASE)
TIERS = {"F": "Free", "D": "Shared", "B": "Basic", "S": "Standard", "I": "Isolated"}
NO_SLOTS = ("Free", "Shared", "Basic")


def _tier(sku: str) -> str:
    sku = sku.upper()
    if sku.startswith("P"):
        return "PremiumV3" if sku.endswith("V3") else "PremiumV2" if sku.endswith("V2") else "Premium"
    return TIERS[sku[0]]


def read_web(cls: type[Any], body: bytes) -> dict[str, Any]:
    """The body as JSON that `cls` (an azure-mgmt-web model) accepts, or App Service's 400."""
    try:
        data = json.loads(body or b"null")
    except ValueError as error:
        raise bad_request(f"The request content was invalid and could not be deserialized: {error}") from error
    if not isinstance(data, dict):
        raise bad_request(f"The request body must be a {cls.__name__} object.")
    problems: list[Problem] = []
    check_model(cls, data, "", problems)
    if problems:
        raise bad_request("; ".join(f"{p.target}: {p.message}" for p in problems), problems)
    _deserialize(cls, data)  # what the SDK itself would make of it
    return data


def register(router: Router, context: Context) -> None:
    scope = context.scope

    def apps() -> WebApps:
        assert context.web_apps is not None
        return context.web_apps

    def group(params: dict[str, str]) -> None:
        if params["subscription"].lower() != scope.subscription.lower():
            raise ServiceError(404, "SubscriptionNotFound", f"The subscription '{params['subscription']}' could not be "
                                                            "found.")
        if params["resource_group"].lower() != scope.resource_group.lower():
            raise ServiceError(404, "ResourceGroupNotFound",
                               f"Resource group '{params['resource_group']}' could not be found.")

    def group_id(params: dict[str, str]) -> str:
        return f"/subscriptions/{scope.subscription}/resourceGroups/{params['resource_group']}"

    def not_found(kind: str, name: str, params: dict[str, str]) -> ServiceError:
        return ServiceError(404, "ResourceNotFound", f"The Resource '{kind}/{name}' under resource group "
                                                     f"'{params['resource_group']}' was not found.")

    # -- resource group, registry, identity, role assignments -----------------------------------

    def get_group(request: Request, params: dict[str, str]) -> Response:
        group(params)
        return json_response({"id": group_id(params), "name": scope.resource_group, "location": scope.location,
                              "type": "Microsoft.Resources/resourceGroups",
                              "properties": {"provisioningState": "Succeeded"}})

    def get_registry(request: Request, params: dict[str, str]) -> Response:
        group(params)
        registry = apps().registries.get(params["registry"].lower())
        if registry is None or registry.resource_group.lower() != params["resource_group"].lower():
            raise not_found("Microsoft.ContainerRegistry/registries", params["registry"], params)
        return json_response({
            "id": f"{group_id(params)}/providers/Microsoft.ContainerRegistry/registries/{registry.name}",
            "name": registry.name, "type": "Microsoft.ContainerRegistry/registries", "location": scope.location,
            "sku": {"name": "Basic", "tier": "Basic"},
            "properties": {"loginServer": f"{registry.name.lower()}.azurecr.io", "provisioningState": "Succeeded",
                           "adminUserEnabled": False}})

    def get_identity(request: Request, params: dict[str, str]) -> Response:
        group(params)
        identity = apps().identities.get(params["identity"].lower())
        if identity is None or identity.resource_group.lower() != params["resource_group"].lower():
            raise not_found("Microsoft.ManagedIdentity/userAssignedIdentities", params["identity"], params)
        return json_response({
            "id": f"{group_id(params)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{identity.name}",
            "name": identity.name, "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
            "location": scope.location,
            "properties": {"tenantId": "00000000-0000-0000-0000-000000000001", "principalId": identity.principal_id,
                           "clientId": identity.client_id}})

    # -- plans -----------------------------------------------------------------------------------

    def plan_json(params: dict[str, str], plan: dict[str, Any]) -> dict[str, Any]:
        return {**plan, "id": f"{group_id(params)}/providers/Microsoft.Web/serverfarms/{plan['name']}",
                "type": "Microsoft.Web/serverfarms"}

    def put_plan(request: Request, params: dict[str, str]) -> Response:
        group(params)
        data = read_web(web.AppServicePlan, request.body)
        sku = str((data.get("sku") or {}).get("name") or "")
        if not SKU.match(sku):
            raise bad_request(f"The pricing tier '{sku}' is not allowed in this resource group. Use a SKU such as "
                              "B1, S1 or P1v3.", [Problem("InvalidSku", "Unknown SKU.", "sku.name")])
        name = params["plan"]
        plan = {"name": name, "location": data["location"], "kind": data.get("kind", "app"),
                "tags": data.get("tags") or {},
                "sku": {"name": sku, "tier": _tier(sku), "capacity": (data["sku"].get("capacity") or 1)},
                "properties": {**(data.get("properties") or {}), "provisioningState": "Succeeded",
                               "status": "Ready"}}
        apps().plans[name.lower()] = plan
        return json_response(plan_json(params, plan))  # App Service answers 200 to a create too

    def get_plan(request: Request, params: dict[str, str]) -> Response:
        group(params)
        plan = apps().plans.get(params["plan"].lower())
        if plan is None:
            raise not_found("Microsoft.Web/serverFarms", params["plan"], params)
        return json_response(plan_json(params, plan))

    # -- sites and slots -------------------------------------------------------------------------

    def site_json(params: dict[str, str], site: str, slot_name: str) -> dict[str, Any]:
        slot = apps().slot(site, slot_name)
        assert slot is not None
        name = site if slot_name == PRODUCTION else f"{site}/{slot_name}"
        path = f"{group_id(params)}/providers/Microsoft.Web/sites/{site}" + (
            "" if slot_name == PRODUCTION else f"/slots/{slot_name}")
        properties = {**slot.resource.get("properties", {}), "defaultHostName": slot.host, "hostNames": [slot.host],
                      "enabledHostNames": [slot.host], "state": "Running", "usageState": "Normal",
                      "availabilityState": "Normal"}
        properties.pop("siteConfig", None)  # App Service answers a site without its configuration's values
        return {**slot.resource, "id": path, "name": name,
                "type": "Microsoft.Web/sites" + ("" if slot_name == PRODUCTION else "/slots"),
                "properties": properties}

    def check_site(data: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        properties = data.get("properties") or {}
        plan_id = str(properties.get("serverFarmId") or "")
        plan = apps().plans.get(plan_id.rstrip("/").rsplit("/", 1)[-1].lower()) if plan_id else None
        if plan is None:
            raise bad_request(f"The server farm '{plan_id}' was not found; create the App Service plan first.")
        config = dict(properties.get("siteConfig") or {})
        image = str(config.get("linuxFxVersion") or "")
        if image and not re.match(r"^DOCKER\|[^|\s]+$", image, re.IGNORECASE):
            raise bad_request(f"LinuxFxVersion has an invalid value: '{image}'.",
                              [Problem("InvalidValue", "Expected DOCKER|<image>.", "properties.siteConfig")])
        if image and not plan["properties"].get("reserved"):
            raise bad_request("A Linux container needs a Linux plan (properties.reserved true).")
        identities = {key.lower() for key in ((data.get("identity") or {}).get("userAssignedIdentities") or {})}
        for identity_id in identities:
            if identity_id.rsplit("/", 1)[-1] not in apps().identities:
                raise bad_request(f"The user assigned identity '{identity_id}' was not found.")
        client_id = config.get("acrUserManagedIdentityID")
        if client_id and not any(apps().identities[i.rsplit("/", 1)[-1]].client_id == client_id
                                 for i in identities):
            raise bad_request(f"acrUserManagedIdentityID '{client_id}' is not the client id of an identity the site "
                              "was given (identity.userAssignedIdentities).")
        reference = str(properties.get("keyVaultReferenceIdentity") or "")
        if reference and reference.lower() != "systemassigned" and reference.lower() not in identities:
            raise bad_request(f"keyVaultReferenceIdentity '{reference}' is not an identity the site was given.")
        for setting in config.get("appSettings") or []:
            if not SETTING_NAME.match(str(setting.get("name") or "")):
                raise bad_request(f"App setting name '{setting.get('name')}' is invalid: letters, digits, '_' and '.' "
                                  "only.")
        return plan

    def put_site(request: Request, params: dict[str, str]) -> Response:
        group(params)
        data = read_web(web.Site, request.body)
        site, slot_name = params["site"], params.get("slot", PRODUCTION)
        production = apps().slot(site)
        if slot_name != PRODUCTION and production is None:
            raise not_found("Microsoft.Web/sites", site, params)
        plan = check_site(data, params)
        if slot_name != PRODUCTION and plan["sku"]["tier"] in NO_SLOTS:
            raise ServiceError(409, "Conflict", f"Cannot complete the operation because the site will exceed the "
                                                f"number of slots allowed for the '{plan['sku']['tier']}' SKU.")
        config = dict((data.get("properties") or {}).get("siteConfig") or {})
        resource = {k: v for k, v in data.items() if k != "properties"}
        resource["properties"] = {k: v for k, v in (data.get("properties") or {}).items() if k != "siteConfig"}
        apps().put_slot(site, slot_name, resource, config)
        return json_response(site_json(params, site, slot_name))

    def get_site(request: Request, params: dict[str, str]) -> Response:
        group(params)
        slot_name = params.get("slot", PRODUCTION)
        if apps().slot(params["site"], slot_name) is None:
            raise not_found("Microsoft.Web/sites", params["site"] + ("" if slot_name == PRODUCTION else
                                                                      f"/slots/{slot_name}"), params)
        return json_response(site_json(params, params["site"], slot_name))

    def find(params: dict[str, str]) -> Any:
        group(params)
        slot = apps().slot(params["site"], params.get("slot", PRODUCTION))
        if slot is None:
            raise not_found("Microsoft.Web/sites", params["site"], params)
        return slot

    def config_json(params: dict[str, str]) -> dict[str, Any]:
        slot = find(params)
        name = f"{params['site']}/web" if "slot" not in params else f"{params['site']}/{params['slot']}/web"
        return {"id": request_path(params) + "/config/web", "name": name, "type": "Microsoft.Web/sites/config",
                "properties": {**slot.config, "appSettings": None}}

    def request_path(params: dict[str, str]) -> str:
        return f"{group_id(params)}/providers/Microsoft.Web/sites/{params['site']}" + (
            f"/slots/{params['slot']}" if "slot" in params else "")

    def get_config(request: Request, params: dict[str, str]) -> Response:
        return json_response(config_json(params))

    def update_config(request: Request, params: dict[str, str]) -> Response:
        slot = find(params)
        data = read_web(web.SiteConfigResource, request.body)
        properties = dict(data.get("properties") or {})
        for rule in (properties.get("experiments") or {}).get("rampUpRules") or []:
            host = rule.get("actionHostName")
            hosts = [s.host for (site, name), s in apps().slots.items()
                     if site == params["site"].lower() and name != PRODUCTION]
            if host not in hosts:
                raise bad_request(f"Ramp-up rule '{rule.get('name')}': actionHostName '{host}' is not a slot of site "
                                  f"{params['site']}.")
            if not 0 <= float(rule.get("reroutePercentage") or 0) <= 100:
                raise bad_request("reroutePercentage must be between 0 and 100.")
        what_runs = {"linuxFxVersion", "appSettings", "acrUserManagedIdentityID"}
        if what_runs & properties.keys():
            apps().put_slot(params["site"], params.get("slot", PRODUCTION), slot.resource,
                            {**properties, "appSettings": properties.get("appSettings") or [
                                {"name": k, "value": v} for k, v in slot.app_settings.items()]})
        else:
            with apps().lock:
                slot.config.update(properties)
        return json_response(config_json(params))

    def list_settings(request: Request, params: dict[str, str]) -> Response:
        slot = find(params)
        return json_response({"id": request_path(params) + "/config/appsettings", "name": "appsettings",
                              "type": "Microsoft.Web/sites/config", "properties": dict(slot.app_settings)})

    def swap(request: Request, params: dict[str, str]) -> Response:
        find(params)
        data = read_web(web.CsmSlotEntity, request.body)
        target = str(data.get("targetSlot") or "")
        if apps().slot(params["site"], target) is None:
            raise bad_request(f"The target slot '{target}' of the swap does not exist.")
        operation = context.operations.start(lambda: apps().swap(params["site"], params["slot"], target))
        location = (f"{context.base_url}/subscriptions/{scope.subscription}/providers/Microsoft.Web/locations/"
                    f"{scope.location}/operationResults/{operation.id}?api-version={request.query['api-version']}")
        return Response(202, headers={"Location": location, "Retry-After": str(context.lro_retry_after)})

    def operation_result(request: Request, params: dict[str, str]) -> Response:
        operation = context.operations.poll(params["operation"])
        if operation is None:
            raise ServiceError(404, "NotFound", f"Operation '{params['operation']}' was not found.")
        if operation.status == "InProgress":
            return Response(202, headers={"Location": context.base_url + request.path + "?api-version="
                                          + request.query.get("api-version", ""),
                                          "Retry-After": str(context.lro_retry_after)})
        if operation.error is not None:
            raise operation.error
        return Response(200)

    def update_tags(request: Request, params: dict[str, str]) -> Response:
        slot = find(params)
        body = request.json() or {}
        tags = (body.get("properties") or {}).get("tags")
        if body.get("operation") not in ("Merge", "Replace", "Delete") or not isinstance(tags, dict):
            raise bad_request("Tags - Update At Scope needs an operation (Merge, Replace, Delete) and properties.tags.")
        with apps().lock:
            current = dict(slot.resource.get("tags") or {})
            if body["operation"] == "Merge":
                current.update(tags)
            elif body["operation"] == "Replace":
                current = dict(tags)
            else:
                current = {k: v for k, v in current.items() if k not in tags}
            slot.resource["tags"] = current
        return json_response({"id": request_path(params) + "/providers/Microsoft.Resources/tags/default",
                              "name": "default", "type": "Microsoft.Resources/tags", "properties": {"tags": current}})

    def add(method: str, path: str, kind: str, handler: Any, provider: str = "Microsoft.Web",
            versions: tuple[str, ...] = WEB_API_VERSIONS, action: str | None = None) -> None:
        router.add(method, path, kind, handler, action=action, provider=provider, api_versions=versions)

    resources = ("2021-04-01", "2022-09-01", "2024-03-01")
    add("GET", "/subscriptions/{subscription}/resourcegroups/{resource_group}", "resourceGroups", get_group,
        "Microsoft.Resources", resources)
    add("GET", GROUP + "/providers/Microsoft.ContainerRegistry/registries/{registry}", "registries", get_registry,
        "Microsoft.ContainerRegistry", ("2023-07-01", "2023-11-01-preview", "2025-04-01"))
    add("GET", GROUP + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{identity}",
        "userAssignedIdentities", get_identity, "Microsoft.ManagedIdentity", ("2023-01-31", "2024-11-30"))
    add("GET", GROUP + "/providers/Microsoft.Web/serverfarms/{plan}", "serverfarms", get_plan)
    add("PUT", GROUP + "/providers/Microsoft.Web/serverfarms/{plan}", "serverfarms", put_plan)
    for base, kind in ((SITES, "sites"), (SLOT, "sites/slots")):
        add("GET", base, kind, get_site)
        add("PUT", base, kind, put_site)
        add("GET", base + "/config/web", kind + "/config", get_config)
        add("PATCH", base + "/config/web", kind + "/config", update_config)
        add("PUT", base + "/config/web", kind + "/config", update_config)
        add("POST", base + "/config/appsettings/list", kind + "/config", list_settings, action="list")
        add("PATCH", base + "/providers/Microsoft.Resources/tags/default", "tags", update_tags, "Microsoft.Resources",
            resources)
    add("POST", SLOT + "/slotsswap", "sites/slots", swap, action="slotsswap")
    add("GET", "/subscriptions/{subscription}/providers/Microsoft.Web/locations/{location}/operationResults/"
        "{operation}", "locations/operationResults", operation_result)
