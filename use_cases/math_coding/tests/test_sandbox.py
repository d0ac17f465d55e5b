"""The sandbox, one generated program at a time: what it allows, what it stops, and how it says so.

Each case is a real child process. The time-limit cases take their limit (1 s) in wall-clock time; the others
get a roomy one, so that a loaded machine (a CI runner, the suite's parallel workers) cannot turn a memory or
output limit, or a plain answer, into a time limit."""

from __future__ import annotations

import errno
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sandbox import (
    CHILD,
    ERROR,
    MEMORY_LIMIT,
    OK,
    OUTPUT_LIMIT,
    REFUSED,
    TIME_LIMIT,
    SandboxLimits,
    run_snippet,
)

FAST = SandboxLimits(time_seconds=1.0)
ROOMY = SandboxLimits(time_seconds=20.0)
OUTSIDE = Path(__file__).resolve()  # a file outside the snippet's folder

CASES = [
    # id, program, status, reason (a prefix), stdout
    ("prints", "print(sum(range(101)))", OK, "", "5050\n"),
    ("standard library", "import math, fractions, statistics\nprint(math.comb(7, 3))", OK, "", "35\n"),
    ("own folder", "open('n.txt', 'w').write('12')\nprint(open('n.txt').read())", OK, "", "12\n"),
    ("no environment", "import os\nprint(sorted(os.environ))", OK, "", "['LC_ALL']\n"),
    ("endless loop", "while True:\n    pass", TIME_LIMIT, "stopped: ran over its 1 s time limit", ""),
    ("sleeps", "import time\ntime.sleep(60)", TIME_LIMIT, "stopped: ran over its 1 s time limit", ""),
    ("allocates without bound", "chunks = []\nwhile True:\n    chunks.append(bytearray(10**6))", MEMORY_LIMIT,
     "stopped: ran out of its 256 MB memory limit", ""),
    ("one huge allocation", "x = bytearray(10**10)", MEMORY_LIMIT, "stopped: ran out of its 256 MB memory limit", ""),
    ("opens a socket", "import socket\nsocket.socket().connect(('127.0.0.1', 9))", REFUSED,
     "refused: network access (socket.__new__)", ""),
    ("catches the refusal and goes on", "import socket\ntry:\n    socket.socket()\nexcept OSError:\n    pass\nprint(3)",
     REFUSED, "refused: network access (socket.__new__)", "3\n"),
    ("resolves a name", "import socket\nsocket.getaddrinfo('example.com', 80)", REFUSED,
     "refused: network access (socket.getaddrinfo)", ""),
    ("fetches a URL", "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9/')", REFUSED,
     "refused: network access", ""),
    ("runs a command", "import os\nos.system('true')", REFUSED, "refused: starting a process (os.system)", ""),
    ("uses subprocess", "import subprocess\nsubprocess.run(['true'])", REFUSED,
     "refused: starting a process (import _posixsubprocess)", ""),
    ("forks", "import os\nos.fork()", REFUSED, "refused: starting a process (os.fork)", ""),
    ("kills", "import os\nos.kill(1, 0)", REFUSED, "refused: signalling a process (os.kill)", ""),
    ("calls C", "import ctypes\nctypes.CDLL(None)", REFUSED, "refused: calling C code (ctypes)", ""),
    ("raises its limits", "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (100, 100))", REFUSED,
     "refused: changing its resource limits", ""),
    ("reads a file outside", f"print(open({str(OUTSIDE)!r}).read())", REFUSED,
     "refused: reading a file outside its folder", ""),
    ("writes a file outside", f"open({tempfile.gettempdir()!r} + '/sandbox-escape.txt', 'w')", REFUSED,
     "refused: writing a file outside its folder", ""),
    ("deletes a file outside", f"import os\nos.remove({str(OUTSIDE)!r})", REFUSED,
     "refused: changing a file outside its folder", ""),
    ("lists the root", "import os\nos.listdir('/')", REFUSED, "refused: listing a folder outside its folder", ""),
    ("floods its output", "while True:\n    print('x' * 1000)", OUTPUT_LIMIT,
     "stopped: wrote more than its 1024 KB output limit", None),
    ("raises", "print(1 / 0)", ERROR, "error: ZeroDivisionError: division by zero", ""),
    ("syntax error", "print(1 +", ERROR, "error: SyntaxError: '(' was never closed", ""),
    ("third-party import", "import numpy", ERROR, "error: ModuleNotFoundError: No module named 'numpy'", ""),
    ("exits 0", "import sys\nprint(2)\nsys.exit(0)", OK, "", "2\n"),
    ("exits 3", "import sys\nsys.exit(3)", ERROR, "error: exit code 3", ""),
]


@pytest.mark.parametrize(("code", "status", "reason", "stdout"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_program_ends_as_expected(code: str, status: str, reason: str, stdout: str | None) -> None:
    result = run_snippet(code, FAST if status == TIME_LIMIT else ROOMY)
    assert result.status == status, result
    assert result.reason.startswith(reason) and (reason or result.reason == ""), result.reason
    if stdout is not None:
        assert result.stdout == stdout
    assert result.seconds < 30


def test_nothing_escapes_and_the_throwaway_folder_is_gone(tmp_path: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("llmops-sandbox-*"))
    run_snippet(f"open({str(tmp_path / 'escaped.txt')!r}, 'w')", ROOMY)
    run_snippet("open('left.txt', 'w').write('x')", ROOMY)
    assert not (tmp_path / "escaped.txt").exists()
    assert set(Path(tempfile.gettempdir()).glob("llmops-sandbox-*")) == before


def test_no_variable_of_the_caller_reaches_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "planted-key-0123456789")
    result = run_snippet("import os\nprint(os.environ.get('AZURE_OPENAI_API_KEY'))", ROOMY)
    assert result.stdout == "None\n"


def test_the_network_namespace_alone_already_cuts_the_network() -> None:
    """The kernel's block, without the audit hook: a server listening here is unreachable from the child."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    probe = (f"import sys\nsys.path.insert(0, {str(CHILD.parent)!r})\nimport socket, sandbox_child\n"
             "print(sandbox_child.leave_the_network())\n"
             f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('connected')\n"
             "except OSError as error:\n    print(error.errno)\n")
    try:
        done = subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, timeout=30)
    finally:
        listener.close()
    isolated, outcome = done.stdout.split()
    if isolated == "False":
        pytest.skip("this kernel refuses an unprivileged network namespace: the audit hook is the network block")
    assert outcome == str(errno.ENETUNREACH), done.stdout + done.stderr


def test_output_is_cut_to_the_limit() -> None:
    result = run_snippet("print('y' * 100000)", SandboxLimits(output_chars=50))
    assert result.status == OK and result.stdout == "y" * 50


def test_stderr_keeps_its_end_where_the_error_is() -> None:
    result = run_snippet("import sys\nsys.stderr.write('noise ' * 5000)\nraise ValueError('the cause')",
                         SandboxLimits(output_chars=200))
    assert result.status == ERROR and result.reason == "error: ValueError: the cause"
    assert len(result.stderr) == 200
