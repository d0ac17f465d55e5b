"""A small, deterministic experiment shaped like the web-classification use case.

For trying the renderers without running a flow (tests, the benchmark, screenshots of the report):
variants of two prompt nodes, a 0/1 `accuracy` with per-line values, an aggregate-only `macro_f1`,
and a second evaluation flow with a 1-5 `groundedness` score. One line of every non-baseline
variant fails, as lines of real runs do.
"""

from __future__ import annotations

import random

from llmops.report.model import BASELINE_LABEL, EvaluationRun, ExperimentRun, LineResult, UsageTotals

CATEGORIES = ("Academic", "App", "Channel", "Movie", "Profile")
NODES = ("summarize_text_content", "classify_with_llm")
# Chance that a variant classifies a line of average difficulty right; by position, baseline first.
SKILLS = (0.6, 0.85, 0.45, 0.7, 0.55)


def variant_labels(count: int) -> list[str]:
    """'defaults', then one node's variants at a time, as the 'each' variant mode enumerates them."""
    others = [f"{NODES[i % 2]}.variant_{i // 2 + 1}" for i in range(count - 1)]
    return [BASELINE_LABEL, *others]


def sample_experiment(
    variant_count: int = 3,
    line_count: int = 10,
    eval_flows: tuple[str, ...] = ("evaluation", "evaluation_adv"),
    dataset: str = "web_classification_test",
    seed: int = 7,
) -> tuple[tuple[ExperimentRun, ...], tuple[EvaluationRun, ...]]:
    rng = random.Random(seed)
    truth = [rng.choice(CATEGORIES) for _ in range(line_count)]
    # Lines are hard or easy for every variant alike, so variants agree on most lines: what pairing is for.
    difficulty = [rng.random() for _ in range(line_count)]
    runs, evaluations = [], []
    for position, label in enumerate(variant_labels(variant_count)):
        skill = SKILLS[position % len(SKILLS)]
        run = _run(label, position, dataset, truth, difficulty, skill)
        runs.append(run)
        evaluations += [_evaluation(flow, run, truth, rng) for flow in eval_flows]
    return tuple(runs), tuple(evaluations)


def _run(
    label: str, position: int, dataset: str, truth: list[str], difficulty: list[float], skill: float
) -> ExperimentRun:
    lines = []
    for index, expected in enumerate(truth):
        inputs = {"url": f"https://example.com/pages/{index}", "answer": expected}
        if position > 0 and index == position % len(truth):
            lines.append(
                LineResult(index, inputs, {}, "RateLimitError: 429 Too Many Requests after 3 retries")
            )
            continue
        wrong = CATEGORIES[(CATEGORIES.index(expected) + 1 + index % 3) % len(CATEGORIES)]
        category = expected if difficulty[index] < skill else wrong
        outputs = {
            "category": category,
            "evidence": f"The page at /pages/{index} reads like a {category} page.",
        }
        lines.append(LineResult(index, inputs, outputs, None))
    variant = {node: "variant_0" for node in NODES}
    if label != BASELINE_LABEL:
        node, variant_id = label.split(".")
        variant[node] = variant_id
    return ExperimentRun(
        run_id=f"run-{position:02d}-{label}-{dataset}",
        name=f"web_classification_pr_{label}_{dataset}_{position:06x}",
        variant=variant,
        variant_label=label,
        is_baseline=label == BASELINE_LABEL,
        dataset=dataset,
        dataset_version=1,
        lines=tuple(lines),
        usage=UsageTotals(
            calls=2 * len(truth),
            prompt_tokens=410 * len(truth),
            completion_tokens=35 * len(truth),
            cost_usd=round(0.00021 * len(truth), 8),
            p50_latency_ms=820.0 + 40 * position,
            p95_latency_ms=1900.0 + 75 * position,
            cache_hits=position,
        ),
    )


def _evaluation(flow: str, run: ExperimentRun, truth: list[str], rng: random.Random) -> EvaluationRun:
    # What the evaluate step records for a line it skips
    errors = tuple("not evaluated: the experiment line failed" if line.failed else None for line in run.lines)
    if flow == "evaluation":
        accuracy = [
            None if line.failed else float(line.outputs["category"] == truth[i])
            for i, line in enumerate(run.lines)
        ]
        scored = [v for v in accuracy if v is not None]
        metrics = {
            "accuracy": sum(scored) / len(scored),
            "macro_f1": round(0.9 * sum(scored) / len(scored), 4),
        }
        return EvaluationRun(
            flow,
            f"eval-{flow}-{run.run_id}",
            run.run_id,
            run.dataset,
            metrics,
            {"accuracy": tuple(accuracy)},
            errors,
        )
    grounded = [None if line.failed else float(rng.randint(2, 5)) for line in run.lines]
    present = [v for v in grounded if v is not None]
    return EvaluationRun(
        flow,
        f"eval-{flow}-{run.run_id}",
        run.run_id,
        run.dataset,
        {"groundedness": sum(present) / len(present)},
        {"groundedness": tuple(grounded)},
        errors,
    )
