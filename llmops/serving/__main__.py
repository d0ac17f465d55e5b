"""`python -m llmops.serving`: the endpoint server process (started by `llmops endpoint up`, not by hand)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from llmops.errors import LlmopsError
from llmops.serving import server_log
from llmops.serving.endpoint_key import KEY_ENV, EndpointKey
from llmops.serving.endpoint_server import check_port, serve
from llmops.serving.process import ServeOptions, server_log_path
from llmops.serving.server_assembly import configure_process
from llmops.serving.server_settings import Listen


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
    parser.add_argument("--host", default="127.0.0.1", help="anything but loopback needs a key in " + KEY_ENV)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=8, help="4 node threads per thread, for synchronous nodes")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--log-max-bytes", type=int)
    parser.add_argument("--receive-timeout", type=float)
    args = parser.parse_args(argv)
    environ = dict(os.environ)
    key = environ.pop(KEY_ENV, None)
    os.environ.pop(KEY_ENV, None)  # out of the environment the flows run in
    try:  # said here, on the terminal of whoever started it, before the output goes to server.log
        Listen(args.host, check_port(args.port), EndpointKey(KEY_ENV, key) if key else None)
    except LlmopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    server_log.log_to(server_log_path(Path(args.state_dir), args.endpoint))
    configure_process()
    try:
        serve(ServeOptions(
            root=Path(args.root), state_dir=Path(args.state_dir), use_case=args.use_case, env=args.env,
            endpoint=args.endpoint, provider=args.provider, embedded_model=args.model,
            env_file=Path(args.env_file) if args.env_file else None, port=check_port(args.port), host=args.host,
            threads=args.threads, seed=args.seed, log_max_bytes=args.log_max_bytes,
            key=key, receive_timeout_s=args.receive_timeout,
        ), environ)
    except LlmopsError as error:  # said once in server.log, which `endpoint up` shows when the start fails
        logging.getLogger("llmops.serving").error("error: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
