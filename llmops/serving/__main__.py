"""`python -m llmops.serving`: the endpoint server process (started by `llmops endpoint up`, not by hand)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from llmops.errors import LlmopsError
from llmops.serving import server_log
from llmops.serving.endpoint_key import KEY_ENV
from llmops.serving.endpoint_server import check_port, serve
from llmops.serving.process import ServeOptions, server_log_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmops.serving", description=__doc__)
    parser.add_argument("--root", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--use-case", required=True)
    parser.add_argument("--env", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--provider", default="auto")
    parser.add_argument("--model", default="qwen-1.5b")
    parser.add_argument("--env-file")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--log-max-bytes", type=int)
    parser.add_argument("--receive-timeout", type=float)
    args = parser.parse_args(argv)
    # A request passes between threads several times (waitress's loop, a worker, the line loop, a node
    # thread); each hand-over waits for the GIL, up to the switch interval while another thread computes.
    # 1 ms instead of Python's 5 ms: endpoint_overhead.py at 100 clients, 446-464 req/s instead of 214-274.
    sys.setswitchinterval(0.001)
    server_log.log_to(server_log_path(Path(args.state_dir), args.endpoint))
    for noisy in ("execution", "promptflow", "httpx"):  # httpx: a line per LLM call of every request
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Under load waitress warns of its queue depth on every burst; that is the load, not a problem.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    try:
        serve(ServeOptions(
            root=Path(args.root), state_dir=Path(args.state_dir), use_case=args.use_case, env=args.env,
            endpoint=args.endpoint, provider=args.provider, embedded_model=args.model,
            env_file=Path(args.env_file) if args.env_file else None, port=check_port(args.port),
            threads=args.threads, seed=args.seed, log_max_bytes=args.log_max_bytes,
            key=os.environ.pop(KEY_ENV, None),  # out of the environment the flows run in
            receive_timeout_s=args.receive_timeout,
        ))
    except LlmopsError as error:  # said once in server.log, which `endpoint up` shows when the start fails
        logging.getLogger("llmops.serving").error("error: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
