"""Which variant combinations an experiment runs.

Modes: `each` (the all-defaults run plus each node's other variants one at a time: the original
template's rule), `grid` (the cartesian product), `defaults`, or an explicit list such as
`summarize.variant_1,classify.variant_1` (each item one run; `a.v1+b.v2` is one combined run). The
all-defaults combination is always first: it is the baseline every comparison is made against.
"""

from __future__ import annotations

import itertools

from llmops.config.flow_base import Flow
from llmops.errors import UsageError, unknown_name

MODES = ("each", "grid", "defaults")
DEFAULT_MAX_RUNS = 16

Variant = dict[str, str]


def label(variant: Variant, defaults: Variant) -> str:
    changed = [f"{node}.{vid}" for node, vid in sorted(variant.items()) if defaults.get(node) != vid]
    return "+".join(changed) if changed else "defaults"


def enumerate_variants(flow: Flow, spec: str = "each", max_runs: int = DEFAULT_MAX_RUNS) -> list[Variant]:
    options = flow.variants()
    defaults = flow.default_variants()
    if spec == "defaults" or not options:
        combos = [dict(defaults)]
    elif spec == "each":
        combos = [dict(defaults)]
        for node, ids in options.items():
            combos.extend({**defaults, node: vid} for vid in ids if vid != defaults[node])
    elif spec == "grid":
        nodes = list(options)
        combos = [dict(zip(nodes, values, strict=True)) for values in itertools.product(*(options[n] for n in nodes))]
    elif "." not in spec:
        raise UsageError(f"unknown --variants value '{spec}'; valid: {', '.join(MODES)}, or a list of "
                         "node.variant items such as summarize.variant_1,classify.variant_1")
    else:
        combos = [dict(defaults)] + [_parse_item(item, options, defaults) for item in spec.split(",") if item.strip()]
    unique: list[Variant] = []
    for combo in combos:
        if combo not in unique:
            unique.append(combo)
    # Keep the baseline first whatever the mode produced.
    unique.sort(key=lambda c: c != defaults)
    if len(unique) > max_runs:
        raise UsageError(f"--variants {spec} needs {len(unique)} runs per dataset, more than --max-runs "
                         f"{max_runs}; raise --max-runs to {len(unique)} or choose fewer variants")
    return unique


def _parse_item(item: str, options: dict[str, list[str]], defaults: Variant) -> Variant:
    combo = dict(defaults)
    for part in item.strip().split("+"):
        node, _, vid = part.strip().partition(".")
        if node not in options:
            raise unknown_name("node with variants", node, list(options))
        if vid not in options[node]:
            raise unknown_name(f"variant of node '{node}'", vid, options[node])
        combo[node] = vid
    return combo
