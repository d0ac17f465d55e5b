"""`python -m llmops.serving.image --context DIR`: the image's ENTRYPOINT (and run.py's process).

Defaults come from the environment the platform sets: LLMOPS_STATE_DIR (the Dockerfile sets it), LLMOPS_ENDPOINT
and LLMOPS_DEPLOYMENT (the names to answer with, when the image runs as another deployment than it was built
for), LLMOPS_PROVIDER; the key from LLMOPS_ENDPOINT_KEY, taken out of the environment the flows run in.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

from llmops.errors import LlmopsError
from llmops.serving.endpoint_key import KEY_ENV
from llmops.serving.image.server import ContextServeOptions, serve_context
from llmops.serving.ports import LOOPBACK
from llmops.serving.server_assembly import configure_process


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m llmops.serving.image", description=__doc__)
    parser.add_argument("--context", required=True, help="the build context folder (/app in the image)")
    parser.add_argument("--host", default=LOOPBACK, help="address to listen on (anything but loopback needs a key)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--state-dir", default=os.environ.get("LLMOPS_STATE_DIR"),
                        help="writable folder for the production log and caches (default: LLMOPS_STATE_DIR)")
    parser.add_argument("--endpoint", default=os.environ.get("LLMOPS_ENDPOINT"))
    parser.add_argument("--deployment", default=os.environ.get("LLMOPS_DEPLOYMENT"))
    parser.add_argument("--provider", default=os.environ.get("LLMOPS_PROVIDER"))
    parser.add_argument("--ready-file", help="written with pid and port once the server listens")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    configure_process()  # as the local endpoint server's process (llmops/serving/__main__.py)
    if not 0 <= args.port <= 65535:
        logging.getLogger("llmops.serving").error("error: --port %d is not a TCP port", args.port)
        return 1
    state_dir = Path(args.state_dir) if args.state_dir else Path(tempfile.mkdtemp(prefix="llmops-image-"))
    try:
        serve_context(ContextServeOptions(
            context_dir=Path(args.context).resolve(), state_dir=state_dir, host=args.host, port=args.port,
            threads=args.threads, endpoint=args.endpoint or None, deployment=args.deployment or None,
            provider=args.provider or None, key=os.environ.pop(KEY_ENV, None),
            ready_file=Path(args.ready_file) if args.ready_file else None))
    except (LlmopsError, OSError) as error:  # said once, in the container's log (or run.py's log file)
        logging.getLogger("llmops.serving").error("error: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
