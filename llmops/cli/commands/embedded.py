from __future__ import annotations

import argparse

from llmops.cli.common import add_json, out, out_json, workspace
from llmops.until_stopped import wait_until_stopped

NAME = "embedded"
# Its first name: `model` read as the registered flow versions (`models`) too. Still accepted, for the scripts
# that use it.
ALIASES = ("model",)
HELP = ("the embedded LLM (the local model that answers when no API key is set): install (sha256-verified), "
        "serve on loopback, status with measured speed")
EXAMPLE = "llmops embedded install && llmops embedded status --model qwen-1.5b"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["install", "serve", "status", "stop"])
    parser.add_argument("--model", default="qwen-1.5b", metavar="NAME",
                        help="qwen-1.5b (default), qwen-0.5b or smollm2-135m")
    parser.add_argument("--no-measure", action="store_true", help="status: skip the speed measurement")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from llmops.llm import embedded

    if args.action == "install":
        result = embedded.install(args.model)
        how = "already installed" if result.reused else f"installed in {result.total_seconds:.0f} s"
        out(f"{result.name}: {how}: {result.path} ({result.size_bytes / 1e9:.2f} GB, sha256 {result.sha256})")
        return 0
    ws = workspace(args)
    if args.action == "stop":
        out(f"{args.model}: {'stopped' if embedded.stop(args.model, ws.state_dir) else 'was not running'}")
        return 0
    if args.action == "serve":
        base_url, started = embedded.ensure_running(args.model, ws.state_dir)
        try:
            wait_until_stopped(ready=lambda: out(f"{args.model}: serving an OpenAI-compatible API at {base_url} "
                                                 "(Ctrl-C stops it)"))
        finally:
            if started:
                embedded.stop(args.model, ws.state_dir)
        return 0
    st = embedded.status(args.model, ws.state_dir, measure=not args.no_measure)
    if args.json:
        out_json(st.__dict__ | {"speed": st.speed.__dict__ if st.speed else None})
        return 0
    out(f"model:     {st.name} ({st.title}, {st.license})")
    state = "verified" if st.verified else "installed, NOT verified" if st.installed else "not installed"
    out(f"file:      {st.path} ({state})")
    out(f"sha256:    {st.sha256}")
    out(f"server:    {f'{st.base_url} (pid {st.pid})' if st.running else 'not running'}")
    if st.speed:
        prompt_speed = st.speed.prompt_tokens_per_second
        prompt = f", prompt {prompt_speed:.0f} tokens/s" if prompt_speed else ""
        out(f"speed:     decode {st.speed.decode_tokens_per_second:.1f} tokens/s{prompt}")
    return 0 if st.verified or args.action != "status" else 1
