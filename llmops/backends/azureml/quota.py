"""Whether serverless compute of a VM size fits the subscription's Azure ML quota in the workspace's region.

Serverless jobs and compute clusters draw on one quota: dedicated vCPUs per VM family and in total per
region (`GET .../locations/{region}/usages`). A VM size names its family by a key ("standardDSv2Family",
`.../vmSizes`) while a usage names it in words ("Standard DSv2 Family Cluster Dedicated vCPUs"); they are
matched here with case, spaces and punctuation ignored. Both lists are read as the service's JSON:
azure-ai-ml 1.35's Usage and VmSize entities drop its camelCase fields (vCPUs, currentValue).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.pipeline.policies import RetryPolicy

from llmops.backends.azureml.http import get_json
from llmops.backends.azureml.settings import AzureSettings

API_VERSION = "2024-04-01"
_DEDICATED = "clusterdedicatedvcpus"
_TOTAL = "totalclusterdedicatedregionalvcpus"


@dataclass(frozen=True)
class Usage:
    used: int
    limit: int

    @property
    def free(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass(frozen=True)
class SizeQuota:
    size: str  # as the region spells it
    family: str
    vcpus: int
    family_usage: Usage | None  # None: the region lists no quota for the family
    total: Usage | None

    @property
    def fits(self) -> bool:
        """Room for one instance: the family and the region's total each have its vCPUs free."""
        return all(u is not None and u.free >= self.vcpus for u in (self.family_usage, self.total))


def size_quota(
    settings: AzureSettings, location: str, credential: TokenCredential,
    retry_policy: RetryPolicy[Any, Any] | None = None,
) -> SizeQuota | list[str]:
    """The quota of `settings.instance_type` in `location`, or the region's sizes when it offers no such size."""
    base = (f"{settings.cloud.resource_manager.rstrip('/')}/subscriptions/{settings.subscription_id}"
            f"/providers/Microsoft.MachineLearningServices/locations/{location}")

    def read(path: str) -> list[dict[str, Any]]:
        answer = get_json(base + path, credential, settings.cloud.arm_scope, {"api-version": API_VERSION},
                          retry_policy)
        return list(answer.get("value") or [])

    sizes = read("/vmSizes")
    size = next((s for s in sizes if str(s.get("name", "")).lower() == settings.instance_type.lower()), None)
    if size is None:
        return sorted(str(s.get("name")) for s in sizes)
    usages = {_key(str((u.get("name") or {}).get("value", ""))): Usage(int(u.get("currentValue") or 0),
                                                                        int(u.get("limit") or 0))
              for u in read("/usages")}
    family = str(size.get("family", ""))
    return SizeQuota(str(size["name"]), family, int(size.get("vCPUs") or 0),
                     usages.get(_key(family) + _DEDICATED), usages.get(_TOTAL))


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())
