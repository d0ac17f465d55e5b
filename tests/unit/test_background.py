"""Background servers: records, recognising our process by pid, start failures with the log, SIGTERM then SIGKILL."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmops import background
from llmops.background import ServerRecords
from llmops.errors import StepFailed

MARKER = "llmops-test-background-server"
# Prints, then sleeps; with IGNORE_TERM it ignores SIGTERM. The marker is an argument, as in a real server.
SERVER = ("import os, signal, sys, time\n"
          "if os.environ.get('IGNORE_TERM'): signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
          "print('listening', flush=True); sys.stderr.write('a warning\\n'); sys.stderr.flush()\n"
          "time.sleep(60)\n")


@dataclass(frozen=True)
class Record:
    pid: int
    port: int
    note: str = "default"


def records(tmp_path: Path) -> ServerRecords[Record]:
    return ServerRecords(tmp_path / "servers", Record, MARKER, "test server")


def launch(tmp_path: Path, code: str = SERVER, **env: str) -> subprocess.Popen[bytes]:
    return background.launch([sys.executable, "-c", code, MARKER], {**os.environ, **env}, tmp_path / "server.log")


def test_a_record_is_written_whole_and_read_back_with_defaults_for_missing_fields(tmp_path: Path) -> None:
    servers = records(tmp_path)
    path = servers.write("one", Record(pid=12, port=8080, note="x"))
    assert path == tmp_path / "servers" / "one.json" and servers.read("one") == Record(12, 8080, "x")
    path.write_text('{"pid": 12, "port": 8080, "added_later": true}')
    assert servers.read("one") == Record(12, 8080)


@pytest.mark.parametrize("content", ["{torn", "[]", '{"pid": 12}'])
def test_an_unreadable_record_counts_as_none(tmp_path: Path, content: str) -> None:
    (tmp_path / "servers").mkdir()
    (tmp_path / "servers" / "one.json").write_text(content)
    assert records(tmp_path).read("one") is None


def test_forget_leaves_a_record_that_a_newer_server_wrote(tmp_path: Path) -> None:
    servers = records(tmp_path)
    servers.write("one", Record(pid=2, port=1))
    servers.forget("one", pid=1)
    assert servers.read("one") == Record(2, 1)
    servers.forget("one", pid=2)
    assert servers.read("one") is None


def test_a_live_pid_that_does_not_run_our_code_is_a_stale_record(tmp_path: Path) -> None:
    servers = records(tmp_path)
    servers.write("one", Record(pid=os.getpid(), port=1))  # alive, but pytest, not the server (pids get reused)
    assert servers.running("one") is None
    assert servers.stop("one", grace_s=1) is None  # never signalled
    assert not servers.path("one").exists()


def test_a_running_server_is_found_and_stopped_with_sigterm(tmp_path: Path) -> None:
    servers = records(tmp_path)
    process = launch(tmp_path)
    servers.write("one", Record(pid=process.pid, port=1))
    assert servers.running("one") == Record(process.pid, 1)
    assert servers.stop("one", grace_s=10) == Record(process.pid, 1)
    assert process.returncode == -15 and servers.read("one") is None


def test_a_server_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    process = launch(tmp_path, IGNORE_TERM="1")
    background.wait_until_ready(process, lambda: "listening" in (tmp_path / "server.log").read_text() or None, 30,
                                "test server 'one'", tmp_path / "server.log")
    background.terminate(process.pid, 0.2, "test server 'one'")
    assert process.returncode == -9
    assert f"test server 'one' (pid {process.pid}) ignored SIGTERM for 0 s; killing it" in caplog.text


def test_output_goes_to_the_log_and_an_early_exit_fails_with_its_tail(tmp_path: Path) -> None:
    process = launch(tmp_path, "import sys; print('loading'); sys.exit('no model here')")
    with pytest.raises(StepFailed) as caught:
        background.wait_until_ready(process, lambda: None, 30, "test server 'one'", tmp_path / "server.log")
    assert str(caught.value) == (f"test server 'one' exited with code 1 while starting; see the end of "
                                 f"{tmp_path / 'server.log'}:\nloading\nno model here")


def test_a_server_that_never_gets_ready_is_stopped(tmp_path: Path) -> None:
    process = launch(tmp_path)
    with pytest.raises(StepFailed) as caught:
        background.wait_until_ready(process, lambda: None, 0.3, "test server 'one'", tmp_path / "server.log")
    assert str(caught.value).startswith(f"test server 'one' did not become ready within 0 s and was stopped; see "
                                        f"the end of {tmp_path / 'server.log'}:\n")
    assert process.returncode == -15


def test_a_log_kept_across_starts_is_appended_to(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("earlier server\n")
    background.launch([sys.executable, "-c", "print('out')", MARKER], os.environ, log, append=True,
                      stdout=False).wait()
    assert log.read_text() == "earlier server\n"
    background.launch([sys.executable, "-c", "import sys; sys.stderr.write('err')", MARKER], os.environ, log,
                      append=True).wait()
    assert log.read_text() == "earlier server\nerr"


def test_the_server_imports_this_llmops_first() -> None:
    env = background.python_environment({"PYTHONPATH": "/elsewhere"})
    assert env["PYTHONPATH"] == os.pathsep.join([str(Path(background.__file__).resolve().parents[1]), "/elsewhere"])
