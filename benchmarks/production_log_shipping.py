"""What shipping the production log to blob storage costs a request: ProductionLog.append with and without it.

A request's only contact with the log is one append (a JSON line written and flushed under a lock); with shipping
on (llmops/serving/log_shipping.py) a rotation renames the file into the outbox and a background thread uploads
it. Phases in one run, same entries, same threads, same segment size:
  local       ProductionLog with numbered rotation (the log of a local endpoint)
  shipped     ProductionLog handing each closed segment to a LogShipper that uploads it to Azurite (the Azure
              Storage emulator, HTTPS on loopback) while the appends go on; then the final flush
Each round prints how many segments were uploaded (and how many while the appends went on), how long the final
flush took and how many entries reached storage; then each phase's best round (the least disturbed on a shared
machine): appends per second, p50 and p99 of one append, and the ratio shipped/local. Needs node and
node_modules/azurite (npm ci).

    .venv/bin/python benchmarks/production_log_shipping.py [--threads 8] [--appends 2500] [--segment-kib 256]
                                                          [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests.support

from _latency import percentiles, run_threads  # noqa: E402 (benchmarks/ is the script's folder)
from azure.storage.blob import ContainerClient  # noqa: E402

from llmops.serving.log_shipping import LogShipper  # noqa: E402
from llmops.serving.production_log import LOG_FILE, ProductionLog, make_entry  # noqa: E402
from tests.support import azurite  # noqa: E402
from tests.support.azureml_emulator.tls import make_loopback_tls  # noqa: E402


def entry(worker: int, index: int) -> dict[str, object]:
    return make_entry("bench-ep", "blue", False, 12.5, 200,
                      {"url": f"https://apps.example.com/{worker}/{index}", "text": "x" * 400},
                      {"category": "App", "evidence": "y" * 200})


def measure(log: ProductionLog, threads: int, appends: int) -> tuple[list[float], float]:
    return run_threads(threads, appends, lambda worker: lambda index: log.append(entry(worker, index)))


def keep(best: dict[str, tuple[float, list[float], float]], name: str, latencies: list[float],
         seconds: float) -> None:
    rate = len(latencies) / seconds
    if name not in best or rate > best[name][0]:
        best[name] = (rate, latencies, seconds)


def report(name: str, latencies: list[float], seconds: float) -> float:
    rate = len(latencies) / seconds
    p50, p99 = percentiles(latencies)
    print(f"{name:8s} {rate:10.0f} appends/s   p50 {p50 * 1000:7.1f} us   p99 {p99 * 1000:8.1f} us")
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--appends", type=int, default=2500, help="per thread")
    parser.add_argument("--segment-kib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3, help="each phase's best round is shown")
    args = parser.parse_args()
    reason = azurite.missing_reason()
    if reason:
        print(f"skipped: {reason}", file=sys.stderr)
        return 1
    max_bytes = args.segment_kib * 1024
    best: dict[str, tuple[float, list[float], float]] = {}
    with tempfile.TemporaryDirectory(prefix="llmops-bench-") as folder:
        root = Path(folder)
        tls = make_loopback_tls(root, ["localhost"])
        server = azurite.start_azurite(root, tls.cert, tls.key)
        try:
            container = ContainerClient(server.path_style_url, "bench-logs", connection_verify=str(tls.ca_bundle),
                                        credential={"account_name": azurite.ACCOUNT_NAME,
                                                    "account_key": azurite.ACCOUNT_KEY})
            container.create_container()
            for number in range(args.rounds):
                local = ProductionLog(root / f"local{number}" / LOG_FILE, max_bytes)  # 5 backups, as locally
                keep(best, "local", *measure(local, args.threads, args.appends))
                local.close()

                path = root / f"shipped{number}" / LOG_FILE
                path.parent.mkdir(parents=True)
                shipper = LogShipper(path, container, "bench-ep", f"round{number}", segment_s=3600)
                shipped = ProductionLog(path, max_bytes, hand_over=shipper.accept)
                shipper.start(shipped)
                keep(best, "shipped", *measure(shipped, args.threads, args.appends))
                during = len(shipper.uploaded)
                started = time.perf_counter()
                shipper.close()
                flush = time.perf_counter() - started
                lines = sum(container.download_blob(name).readall().count(b"\n") for name in shipper.uploaded)
                print(f"round {number + 1}: segments uploaded {len(shipper.uploaded)} ({during} while appending), "
                      f"final flush {flush * 1000:.0f} ms, entries in storage {lines} of "
                      f"{args.threads * args.appends}, failed uploads {shipper.failures}")
        finally:
            server.stop()
    print(f"best of {args.rounds} rounds, {args.threads} threads x {args.appends} appends, {args.segment_kib} KiB "
          "segments:")
    rates = {name: report(name, latencies, seconds) for name, (_, latencies, seconds) in best.items()}
    print(f"ratio shipped/local: {rates['shipped'] / rates['local']:.2f}x appends/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
