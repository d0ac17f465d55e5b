"""The region's VM sizes and the subscription's Azure ML compute quota, which a test may change.

Serverless jobs and compute clusters draw on the same quota: vCPUs per VM family and in total per region,
dedicated and low priority apart (only dedicated is kept here).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class VmSize:
    name: str
    family: str  # the family key, e.g. standardDSv2Family
    usage_name: str  # how the family's dedicated quota is named in usages
    vcpus: int
    memory_gb: float
    gpus: int = 0


SIZES = (
    VmSize("Standard_DS2_v2", "standardDSv2Family", "Standard DSv2 Family Cluster Dedicated vCPUs", 2, 7.0),
    VmSize("Standard_DS3_v2", "standardDSv2Family", "Standard DSv2 Family Cluster Dedicated vCPUs", 4, 14.0),
    VmSize("Standard_DS4_v2", "standardDSv2Family", "Standard DSv2 Family Cluster Dedicated vCPUs", 8, 28.0),
    VmSize("Standard_NC6s_v3", "standardNCSv3Family", "Standard NCSv3 Family Cluster Dedicated vCPUs", 6, 112.0, 1),
)
TOTAL_DEDICATED = "Total Cluster Dedicated Regional vCPUs"


@dataclass
class Quota:
    """vCPU limits and what is in use, by usage name; a new subscription's defaults (no GPU quota)."""

    limits: dict[str, int] = field(
        default_factory=lambda: {
            TOTAL_DEDICATED: 100,
            "Standard DSv2 Family Cluster Dedicated vCPUs": 24,
            "Standard NCSv3 Family Cluster Dedicated vCPUs": 0,
        }
    )
    in_use: dict[str, int] = field(default_factory=dict)

    def set(self, usage_name: str, limit: int, in_use: int = 0) -> None:
        self.limits[usage_name] = limit
        self.in_use[usage_name] = in_use
