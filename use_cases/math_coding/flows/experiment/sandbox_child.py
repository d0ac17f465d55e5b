"""The sandbox's child process: limits itself, then runs one generated snippet. Started by sandbox.py as
`python -I -S sandbox_child.py FOLDER CPU_SECONDS MEMORY_BYTES FILE_BYTES`, never imported by the flow.

Order matters: everything the snippet must not undo happens before its first line runs.
1. Read the snippet (before the file rules below apply).
2. Resource limits (kernel-enforced, cannot be raised again: soft = hard, except CPU whose soft limit
   sends SIGXCPU a second before the hard one kills): CPU seconds, address space, file size (stdout and
   stderr are files, so this bounds the output too), no core dumps.
3. Linux: a new user + network namespace when the kernel allows an unprivileged one (most do; some
   hardened hosts and containers do not). Inside it there is no network at all, loopback included: the
   kernel refuses every connection, whatever the snippet does.
4. An audit hook (PEP 578), which can never be removed, refuses: sockets and name lookups (the network
   on hosts where step 3 was not allowed), starting or signalling processes (a child would run without
   this hook), ctypes (it could call C code that skips every hook), raising resource limits, garbage-
   collector introspection (a way to reach the hook's state), and files outside the snippet's own folder:
   no reads but of the standard library, no writes at all.

What this does NOT stop: audit hooks are not a security boundary against code written to escape them
(PEP 578 says as much); they stop what a model writes by mistake or what a question talks it into in
plain Python. The rlimits, sandbox.py's wall-clock kill of the process group and the network namespace
are the kernel-enforced parts. Nor does it hide the machine: the program still sees the CPU count, the
clock, its own limits. Where questions come from untrusted users, also run the flow in a container as an
unprivileged user (the serving image, llmops image build) whose network reaches only the LLM's endpoint.
"""

import os
import resource
import sys
import types

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
REFUSED_MARKER = "[sandbox] refused: "  # sandbox.py reads this line on stderr
SNIPPET = "snippet.py"  # in the snippet's folder, so that tracebacks show its lines

# What a refused event is, said to the user. A prefix ends with '.'; any event starting with it matches.
REFUSED_EVENTS = {
    "socket.": "network access",
    "os.system": "starting a process",
    "os.exec": "starting a process",
    "os.fork": "starting a process",
    "os.forkpty": "starting a process",
    "os.posix_spawn": "starting a process",
    "os.spawn": "starting a process",
    "subprocess.Popen": "starting a process",
    "os.kill": "signalling a process",
    "os.killpg": "signalling a process",
    "signal.pthread_kill": "signalling a process",
    "ctypes.": "calling C code (ctypes)",
    "resource.setrlimit": "changing its resource limits",
    "resource.prlimit": "changing its resource limits",
    "gc.get_objects": "inspecting the interpreter",
    "gc.get_referrers": "inspecting the interpreter",
    "gc.get_referents": "inspecting the interpreter",
}
# _posixsubprocess.fork_exec starts a process without raising any audit event: refuse the module itself.
REFUSED_IMPORTS = frozenset({"_posixsubprocess"})
# Events whose first (or first two) arguments are paths that must lie inside the snippet's folder.
WRITE_EVENTS = {"os.remove": 1, "os.rmdir": 1, "os.mkdir": 1, "os.rename": 2, "os.link": 2, "os.symlink": 2,
                "os.chmod": 1, "os.chown": 1, "os.truncate": 1, "os.utime": 1, "shutil.rmtree": 1,
                "os.setxattr": 1, "os.removexattr": 1}
LIST_EVENTS = ("os.listdir", "os.scandir")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def set_limits(cpu_seconds: int, memory_bytes: int, file_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def leave_the_network() -> bool:
    """A fresh network namespace with only a loopback that is down; False where the kernel refuses one."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        isolated = libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0
    except (OSError, AttributeError):
        isolated = False
    # Loaded before the hook, ctypes would stay importable without an "import" event: forget it. Its calls
    # raise "ctypes.*" events, which the hook refuses anyway.
    for name in [name for name in sys.modules if name == "ctypes" or name.startswith(("ctypes.", "_ctypes"))]:
        del sys.modules[name]
    return isolated


def install_hook(folder: str) -> None:
    folder = os.path.realpath(folder)
    readable = tuple(os.path.realpath(entry) for entry in sys.path if entry) + (folder,)
    refused_events = tuple(REFUSED_EVENTS.items())

    def inside(path: object, roots: tuple[str, ...]) -> bool:
        if isinstance(path, int):  # an open file descriptor: only 0-2 are inherited
            return True
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return False
        real = os.path.realpath(path)
        return any(real == root or real.startswith(root + os.sep) for root in roots)

    def refuse(what: str, detail: str) -> None:
        # Written to the stderr file directly: the snippet may have swallowed the exception or replaced
        # sys.stderr; the parent still learns what was tried.
        os.write(2, f"\n{REFUSED_MARKER}{what} ({detail})\n".encode(errors="replace"))
        raise PermissionError(f"sandbox: {what} is not allowed ({detail})")

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS)
            if not inside(path, (folder,) if writing else readable):
                refuse("writing a file outside its folder" if writing else "reading a file outside its folder",
                       f"open {path!r}")
            return
        if event == "import":
            if args and args[0] in REFUSED_IMPORTS:
                refuse("starting a process", f"import {args[0]}")
            return
        if event in WRITE_EVENTS:
            for path in args[:WRITE_EVENTS[event]]:
                if not inside(path, (folder,)):
                    refuse("changing a file outside its folder", f"{event} {path!r}")
            return
        if event in LIST_EVENTS:
            if args and not inside(args[0] if args[0] is not None else ".", readable):
                refuse("listing a folder outside its folder", f"{event} {args[0]!r}")
            return
        for name, what in refused_events:
            if event == name or (name.endswith(".") and event.startswith(name)):
                refuse(what, event)

    sys.addaudithook(hook)


def run(code: types.CodeType) -> None:
    """Run the snippet; on an exception, its traceback without this file's frame, then exit 1."""
    namespace: dict = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(code, namespace)  # noqa: S102 - running generated code is the point of the sandbox
    except SystemExit:
        raise
    except BaseException as error:  # noqa: BLE001 - every failure of the snippet is reported, never ours
        namespace.clear()  # frees what a snippet that ran out of memory still holds, so printing works
        try:
            import traceback  # only now: with its imports it would double the start-up time of every program

            frames = error.__traceback__.tb_next if error.__traceback__ else None
            traceback.print_exception(type(error), error, frames)
        except BaseException:  # noqa: BLE001 - the last line alone still says what happened
            os.write(2, f"{type(error).__name__}: {error}\n".encode(errors="replace"))
        sys.exit(1)


def main() -> None:
    # Plain arguments, not JSON: importing json (re, enum, collections) costs more than the rest of start-up.
    folder, cpu_seconds, memory_bytes, file_bytes = sys.argv[1], *map(int, sys.argv[2:5])
    with open(os.path.join(folder, SNIPPET), encoding="utf-8") as snippet_file:
        source = snippet_file.read()
    set_limits(cpu_seconds, memory_bytes, file_bytes)
    leave_the_network()
    os.chdir(folder)
    sys.argv = [SNIPPET]
    try:
        code = compile(source, SNIPPET, "exec")
    except SyntaxError as error:
        import traceback

        traceback.print_exception(type(error), error, None)
        sys.exit(1)
    install_hook(folder)
    del source
    run(code)


if __name__ == "__main__":
    main()
