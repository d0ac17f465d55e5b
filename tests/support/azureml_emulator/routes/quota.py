"""The region's VM sizes and the subscription's Azure ML compute quota (`.../locations/{loc}/vmSizes`, `/usages`).

A usage is named as the service names it ("Standard DSv2 Family Cluster Dedicated vCPUs"), not by the
family key a VM size carries ("standardDSv2Family"): a client matches the two itself. See ..quota.
"""

from __future__ import annotations

from azure.ai.ml._restclient.arm_ml_service import models as rest
from azure.ai.ml._restclient.arm_ml_service._utils.model_base import _deserialize

from ..context import Context
from ..errors import ServiceError
from ..http import Request, Response, json_response, page
from ..quota import SIZES, TOTAL_DEDICATED, VmSize
from ..routing import PROVIDER, Router

LOCATION_PATH = "/subscriptions/{subscription}/providers/" + PROVIDER + "/locations/{location}"


def _usage(context: Context, name: str, limit: int, in_use: int) -> rest.Usage:
    subscription = context.scope.subscription
    total = name == TOTAL_DEDICATED
    body = {
        "id": f"/subscriptions/{subscription}/usages" + ("" if total else "/" + name.replace(" ", "_")),
        "amlWorkspaceLocation": context.scope.location,
        "type": f"{PROVIDER}/" + ("dedicatedCores/usages" if total else "vmFamily/usages"),
        "unit": "Count",
        "currentValue": in_use,
        "limit": limit,
        "name": {"value": name, "localizedValue": name},
    }
    return _deserialize(rest.Usage, body)


def _size(size: VmSize) -> rest.VirtualMachineSize:
    body = {
        "name": size.name,
        "family": size.family,
        "vCPUs": size.vcpus,
        "gpus": size.gpus,
        "osVhdSizeMB": 1047552,
        "maxResourceVolumeMB": 7168 * size.vcpus,
        "memoryGB": size.memory_gb,
        "lowPriorityCapable": True,
        "premiumIO": True,
        "supportedComputeTypes": ["AmlCompute", "ComputeInstance"],
    }
    return _deserialize(rest.VirtualMachineSize, body)


def register(router: Router, context: Context) -> None:
    def in_region(params: dict[str, str]) -> bool:
        if params["subscription"].lower() != context.scope.subscription.lower():
            raise ServiceError(
                404, "SubscriptionNotFound", f"The subscription '{params['subscription']}' could not be found."
            )
        return params["location"].lower() == context.scope.location.lower()

    def usages(request: Request, params: dict[str, str]) -> Response:
        quota = context.quota
        found = in_region(params)
        return page(
            [_usage(context, n, limit, quota.in_use.get(n, 0)) for n, limit in quota.limits.items()] if found else []
        )

    def vm_sizes(request: Request, params: dict[str, str]) -> Response:
        found = in_region(params)
        return json_response(rest.VirtualMachineSizeListResult(value=[_size(s) for s in SIZES] if found else []))

    router.add("GET", LOCATION_PATH + "/usages", "locations/usages", usages)
    router.add("GET", LOCATION_PATH + "/vmSizes", "locations/vmSizes", vm_sizes)
