"""The parts a server of several worker processes is made of: the in-flight bound's split, the WORKERS setting,
one log per worker read back as one, and the supervisor's answer to a worker that cannot load."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from llmops.errors import LlmopsError
from llmops.serving.production_log import ProductionLog, make_entry, read_entries, read_tree, worker_log
from llmops.serving.server_settings import ServerLimits, usable_cpus, worker_count
from llmops.serving.workers import ReadyBoard, Supervisor


@pytest.mark.parametrize(("total", "workers", "shares"), [(256, 2, [128, 128]), (5, 2, [3, 2]), (7, 3, [3, 2, 2]),
                                                           (1, 2, [1, 1]), (4, 1, [4])])
def test_the_in_flight_bound_is_split_so_the_shares_sum_to_it(total: int, workers: int, shares: list[int]) -> None:
    limits = ServerLimits(max_in_flight=total)
    assert [limits.for_worker(n, workers).max_in_flight for n in range(workers)] == shares


def test_llmops_workers_wins_over_the_config_and_is_checked() -> None:
    assert worker_count({}, 1, "WORKERS of the local_endpoint") == 1
    assert worker_count({"LLMOPS_WORKERS": "3"}, 1, "WORKERS") == 3
    with pytest.raises(LlmopsError, match="^LLMOPS_WORKERS='two' must be a whole number above 0$"):
        worker_count({"LLMOPS_WORKERS": "two"}, 1, "WORKERS")
    with pytest.raises(LlmopsError, match="^LLMOPS_WORKERS=65 must be from 1 to 64 worker processes$"):
        worker_count({"LLMOPS_WORKERS": "65"}, 1, "WORKERS")
    assert 1 <= usable_cpus() <= len(os.sched_getaffinity(0))


def entry(at: str, worker: int) -> dict:
    return {**make_entry("web", "blue", False, 1.0, 200, {"at": at}, {"worker": worker}), "timestamp": at}


def test_the_workers_logs_read_back_as_one_log_oldest_first(tmp_path: Path) -> None:
    location = tmp_path / "web" / "production_log.jsonl"
    logs = [ProductionLog(worker_log(location, n), max_bytes=700) for n in range(2)]  # each rotates on its own
    stamps = [f"2026-11-26T10:00:{second:02d}.000+00:00" for second in range(12)]
    for number, at in enumerate(stamps):
        logs[number % 3 % 2].append(entry(at, number % 3 % 2))
    for log in logs:
        log.close()
    assert worker_log(location, 1) == tmp_path / "web" / "worker-1" / "production_log.jsonl"
    assert (tmp_path / "web" / "worker-1" / "production_log.jsonl.1").exists()
    assert [e["timestamp"] for e in read_entries(location)] == stamps
    assert [e["timestamp"] for e in read_tree(tmp_path / "web")] == stamps  # each file once, not again per worker


def test_an_entry_after_a_torn_line_starts_a_line_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "production_log.jsonl"
    path.write_text(json.dumps(entry("2026-11-26T10:00:00.000+00:00", 0)) + "\n" + '{"timestamp": "2026-11-2',
                    encoding="utf-8")  # a worker killed mid-write
    log = ProductionLog(path)
    log.append(entry("2026-11-26T10:00:02.000+00:00", 0))
    log.close()
    assert [e["timestamp"][17:19] for e in read_entries(path)] == ["00", "02"]


def test_a_worker_that_cannot_load_stops_the_server_with_its_reason() -> None:
    def serve(number: int) -> None:  # runs in the forked worker
        if number == 1:
            raise LlmopsError("deployment 'blue' could not be loaded: no flow.dag.yaml")
        import time
        time.sleep(60)  # stopped by the supervisor's SIGTERM

    supervisor = Supervisor("web", 2, serve, ReadyBoard(2))
    started: list[bool] = []
    with pytest.raises(LlmopsError, match="^deployment 'blue' could not be loaded: no flow.dag.yaml$"):
        supervisor.run(lambda: started.append(True))
    assert started == [True] and supervisor.pids() == []  # the other worker was stopped and reaped


def test_the_ready_board_says_ready_only_when_every_worker_is() -> None:
    board = ReadyBoard(2)
    board.mark(0, True)
    assert not board.all_ready()
    board.mark(1, True)
    assert board.all_ready()
