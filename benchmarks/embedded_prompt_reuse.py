"""What reproducible embedded answers cost: llama.cpp's prompt-prefix reuse on vs off.

Two servers of the same model run side by side, each in its own state directory:
  reuse  prefix reuse on, as llmops ran before: a prompt's prefix comes from the KV cache of earlier
         requests (the slot and a 1 GiB host-RAM prompt cache); answers depend on the order of calls
  whole  every prompt evaluated whole, as llmops runs now: answers depend only on the request
Both get the same calls: per line of web_classification's dev data (each URL once, so no prompt is ever
repeated whole), the default variant's summarize call, then its few-shot classify call (about 320 prompt
tokens, the same three examples on every line), rendered from the flow's own templates. Calls alternate
between the servers, the first server swapping at every step (reuse, whole, whole, reuse, ...), so load
from other processes hits both alike: read the ratio, not the absolute seconds, on a shared machine. One
untimed call per server warms it up first.

Measured (qwen-1.5b, 2 threads, 20 lines, 2 cores shared with other work): per line 9.5 s with reuse,
16.6 s whole (1.75x); the classify call 3.7 s vs 10.0 s (2.7x), summarize 5.8 s vs 6.6 s (1.15x). Whole
classify prompts evaluate 324 tokens instead of 64. A whole `llmops run -u web_classification -e pr`
took 164 and 176 s with reuse, 363 s without (2.1-2.2x).

    .venv/bin/python benchmarks/embedded_prompt_reuse.py [--model qwen-1.5b] [--lines 20]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from jinja2 import Template
from promptflow.tools.common import parse_chat

from llmops.llm.embedded import DEFAULT_MODEL, embedded_server
from llmops.llm.embedded.loopback import post_json

FLOW = Path(__file__).resolve().parents[1] / "use_cases" / "web_classification" / "flows" / "experiment"
DATA = FLOW.parents[1] / "data" / "data.jsonl"
MAX_TOKENS = 48  # what both LLM nodes of the default variant ask for
SERVERS = ("reuse", "whole")


@dataclass(frozen=True)
class Call:
    seconds: float  # wall time of the HTTP call
    prompt_seconds: float  # of which evaluating the prompt, as the server reports it
    prompt_tokens: int  # of the whole prompt
    evaluated_tokens: int  # of the prompt, evaluated by this call (the rest came from the cache)
    completion_tokens: int


def flow_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, FLOW / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render(template: str, **inputs: Any) -> list[dict[str, Any]]:
    """The chat messages prompt flow's LLM tool sends for a .jinja2 prompt."""
    return list(parse_chat(Template((FLOW / template).read_text(encoding="utf-8")).render(**inputs)))


def ask(base_url: str, model: str, messages: list[dict[str, Any]]) -> tuple[str, Call]:
    request = {"model": model, "messages": messages, "temperature": 0, "max_tokens": MAX_TOKENS}
    started = time.perf_counter()
    answer = post_json(f"{base_url}/chat/completions", request, timeout=600)
    seconds = time.perf_counter() - started
    timings = answer.get("timings") or {}
    evaluated = int(timings.get("prompt_n", 0))
    call = Call(seconds, float(timings.get("prompt_ms", 0.0)) / 1000, evaluated + int(timings.get("cache_n", 0)),
                evaluated, int(answer["usage"]["completion_tokens"]))
    return str(answer["choices"][0]["message"]["content"]), call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="embedded model (default %(default)s)")
    parser.add_argument("--lines", type=int, default=20, help="first lines of the data (49 at most)")
    args = parser.parse_args()

    fetch = flow_module("fetch_text_content_from_url").fetch_text_content_from_url
    examples = flow_module("prepare_examples").prepare_examples()
    os.environ["LLMOPS_OFFLINE"] = "1"  # page text from the flow's snapshot only
    urls = [json.loads(line)["url"] for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    urls = urls[:args.lines]
    calls: dict[tuple[str, str], list[Call]] = defaultdict(list)
    step = 0

    def both(kind: str, messages: list[dict[str, Any]]) -> dict[str, str]:
        nonlocal step
        answers = {}
        for server in SERVERS if step % 2 == 0 else reversed(SERVERS):
            answers[server], call = ask(bases[server], args.model, messages)
            calls[kind, server].append(call)
        step += 1
        return answers

    # The servers stop (ExitStack) before their state directories go (TemporaryDirectory): stopping reads them.
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        print(f"starting two {args.model} servers (reuse, whole)...", file=sys.stderr)
        bases = {server: stack.enter_context(embedded_server(args.model, Path(scratch) / server,
                                                             prompt_reuse=server == "reuse"))
                 for server in SERVERS}
        for server in SERVERS:
            ask(bases[server], args.model, render("summarize_text_content.jinja2", text="warm-up"))
        for number, url in enumerate(urls, 1):
            summaries = both("summarize", render("summarize_text_content.jinja2", text=fetch(url)))
            # Both classify the same summary (the whole server's), so both get the same prompt.
            both("classify", render("classify_with_llm.jinja2", url=url, text_content=summaries["whole"],
                                    examples=examples))
            print(f"line {number}/{len(urls)}", file=sys.stderr)
    report(args.model, len(urls), calls)


def report(model: str, lines: int, calls: dict[tuple[str, str], list[Call]]) -> None:
    """Means per call (per line: both calls summed); answer tok/s is answer tokens per second of wall time."""
    print(f"{model}, temperature 0, max_tokens {MAX_TOKENS}; {lines} lines, 2 calls per line per server")
    print(f"{'call':<11}{'server':<8}{'s':>8}{'prompt s':>10}{'prompt tok':>12}{'evaluated':>11}"
          f"{'answer tok':>12}{'answer tok/s':>14}")
    seconds: dict[tuple[str, str], float] = {}
    for kind in ("summarize", "classify", "per line"):
        for server in SERVERS:
            kinds = ("summarize", "classify") if kind == "per line" else (kind,)
            made = [call for k in kinds for call in calls[k, server]]
            per = lines if kind == "per line" else len(made)

            def mean(field: str, made: list[Call] = made, per: int = per) -> float:
                return sum(getattr(call, field) for call in made) / per

            seconds[kind, server] = mean("seconds")
            print(f"{kind:<11}{server:<8}{mean('seconds'):>8.2f}{mean('prompt_seconds'):>10.2f}"
                  f"{mean('prompt_tokens'):>12.0f}{mean('evaluated_tokens'):>11.0f}{mean('completion_tokens'):>12.1f}"
                  f"{mean('completion_tokens') / mean('seconds'):>14.1f}")
    for kind in ("summarize", "classify", "per line"):
        print(f"ratio whole/reuse, {kind}: {seconds[kind, 'whole'] / seconds[kind, 'reuse']:.2f}x")


if __name__ == "__main__":
    main()
