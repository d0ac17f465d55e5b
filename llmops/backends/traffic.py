"""Traffic maps of an endpoint: each deployment's whole-number share of live requests (summing to 100)
and, optionally, a share of live requests copied to a shadow deployment (the mirror). Parsed from the
command line, validated as a whole, stored by the endpoint registry and routed by the endpoint server
(serving/traffic.py), so it lives here, below both.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from llmops.errors import LlmopsError, UsageError

MAX_MIRROR_SHARE = 50
SPLIT_FORM = "name=share,name=share (for example blue=90,green=10)"


@dataclass(frozen=True)
class Split:
    """Live shares (deployment -> percent of requests it answers) and mirror shares (percent copied to it)."""

    live: dict[str, int] = field(default_factory=dict)
    mirror: dict[str, int] = field(default_factory=dict)

    def share(self, deployment: str) -> int:
        return self.live.get(deployment, 0)

    def describe(self) -> str:
        text = render(self.live) or "no traffic"
        return f"{text}; mirror {render(self.mirror)}" if any(self.mirror.values()) else text


def render(shares: Mapping[str, int]) -> str:
    return ",".join(f"{name}={share}" for name, share in sorted(shares.items()))


def parse_split(text: str, option: str = "--set") -> dict[str, int]:
    """'blue=90,green=10' -> {'blue': 90, 'green': 10}; raises UsageError naming the bad item."""
    shares: dict[str, int] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = (s.strip() for s in item.partition("="))
        if not sep or not name:
            raise UsageError(f"{option} '{text}': '{item}' is not name=share; write it as {SPLIT_FORM}")
        if not value.isdigit() or int(value) > 100:
            raise UsageError(f"{option} '{text}': share of '{name}' must be a whole number from 0 to 100, "
                             f"got '{value}'; write it as {SPLIT_FORM}")
        if name in shares:
            raise UsageError(f"{option} '{text}': '{name}' appears twice; name each deployment once")
        shares[name] = int(value)
    if not shares:
        raise UsageError(f"{option} '{text}' names no deployment; write it as {SPLIT_FORM}")
    return shares


def split_problems(split: Split, deployments: Collection[str]) -> list[str]:
    """Every reason the split cannot be applied to an endpoint holding `deployments` (empty when valid)."""
    problems: list[str] = []
    known = ", ".join(sorted(deployments)) or "(none)"
    for kind, shares in (("live", split.live), ("mirror", split.mirror)):
        for name, share in sorted(shares.items()):
            if name not in deployments:
                problems.append(f"unknown deployment '{name}' in the {kind} map; deployments: {known}")
            if isinstance(share, bool) or not isinstance(share, int) or not 0 <= share <= 100:
                problems.append(f"{kind} share of '{name}' must be a whole number from 0 to 100, got {share!r}")
    total = sum(s for s in split.live.values() if isinstance(s, int))
    if total != 100:
        problems.append(f"live shares must sum to 100, got {total} ({render(split.live) or 'empty'})")
    for name, share in sorted(split.mirror.items()):
        if isinstance(share, int) and share > MAX_MIRROR_SHARE:
            problems.append(f"mirror share of '{name}' is {share}; at most {MAX_MIRROR_SHARE}")
        if share and split.live.get(name):
            problems.append(f"mirror to '{name}', which takes {split.live[name]}% of live traffic; mirror only "
                            "to a deployment that takes no live traffic")
    return problems


def check_split(split: Split, deployments: Collection[str], endpoint: str) -> None:
    """Raise one error listing every problem; callers check before they change anything."""
    problems = split_problems(split, deployments)
    if problems:
        raise LlmopsError(f"traffic map '{split.describe()}' for endpoint '{endpoint}' is not valid: "
                          + "; ".join(problems) + "; nothing was changed")
