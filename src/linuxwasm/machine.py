"""A booted system to run commands in and move files to and from.

    from linuxwasm import Machine

    with Machine() as m:
        r = m.run("uname -a")
        print(r.exit_code, r.stdout)

The machine boots once, under Node, with the guest agent (system/agent.c)
as its session: commands and files pass over the agent channel, a
terminal of its own, so the console's output (the kernel log) stays out
of the way unless verbose=True shows it on stderr. Leaving the `with`
block, or close(), powers it off.
"""

from __future__ import annotations

import collections
import itertools
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from linuxwasm import agent, runner
from linuxwasm.errors import LinuxWasmError

BOOT_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 10.0
# The agent's session gets the channel; the console keeps the kernel log.
AGENT_CMDLINE = "console=hvc0 linuxwasm.agent"

Output = Callable[[bytes], None]


@dataclass(frozen=True)
class Result:
    """What a command did: its exit status (128 + N if signal N ended it) and output."""

    exit_code: int
    stdout: str
    stderr: str


class MachineError(LinuxWasmError):
    """The machine stopped or misbehaved; the message says why."""


class CommandTimeout(LinuxWasmError):
    """A command ran longer than its timeout; it was killed, the machine goes on."""

    def __init__(self, command: str, timeout: float, partial: Result) -> None:
        super().__init__(f"command timed out after {timeout:g} s: {command}")
        self.partial = partial


class Machine:
    """A Linux system booted under Node; see the module's docstring."""

    def __init__(self, kernel: Path | None = None, initramfs: Path | None = None, *,
                 memory_mib: int = 128, verbose: bool = False,
                 boot_timeout: float = BOOT_TIMEOUT) -> None:
        """Build what is missing (kernel, system image) unless given; boot on start()."""
        if kernel is None or initramfs is None:
            from linuxwasm import kernel as kernel_build, system

            kernel = kernel or kernel_build.build()
            initramfs = initramfs or system.build()
        self.options = runner.RunOptions(kernel=kernel, initramfs=initramfs,
                                         cmdline=AGENT_CMDLINE, memory_mib=memory_mib)
        self.verbose = verbose
        self.boot_timeout = boot_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._messages: queue.Queue[agent.Message | Exception | None] = queue.Queue()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self._ids = itertools.count(1)

    # -- life cycle ---------------------------------------------------------

    def start(self) -> Machine:
        """Boot and wait until the agent is ready."""
        if self._process is not None:
            raise MachineError("the machine is already started")
        runner.check_inputs(self.options)
        cmd = runner.node_command(self.options) + ["--agent"] + (["--verbose"] if self.verbose else [])
        self._process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE)
        threading.Thread(target=self._read_messages, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        message = self._next(self.boot_timeout, "boot")
        if message.kind != "ready":
            raise MachineError(f"the agent said {message.kind!r} instead of ready")
        return self

    def close(self) -> None:
        """Power off: the agent ends when asked, and init then powers the machine off."""
        process = self._process
        if process is None:
            return
        try:
            assert process.stdin is not None
            process.stdin.write(agent.encode("bye", 0, 0))
            process.stdin.close()
        except OSError:
            pass
        self._process = None
        try:
            process.wait(SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> Machine:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    @property
    def pid(self) -> int:
        """The host process (Node) that runs the machine."""
        return self._require().pid

    # -- requests -----------------------------------------------------------

    def run(self, command: str, timeout: float | None = None, *,
            on_stdout: Output | None = None, on_stderr: Output | None = None) -> Result:
        """Run command with the guest's /bin/sh -c; stdin is /dev/null.

        on_stdout and on_stderr, if given, get the output as it comes.
        After timeout seconds the command's process group is killed and
        CommandTimeout raised; the machine stays usable.
        """
        payload = command.encode()
        id_ = self._send("run", len(payload), payload=payload)
        out, err = bytearray(), bytearray()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                message = self._next(remaining, f"command {command!r}")
            except _Timeout:
                self._send("kill", 9, id_=id_)
                self._finish_killed(id_, out, err)
                raise CommandTimeout(command, timeout or 0, _result(137, out, err)) from None
            if message.kind == "out":
                out += message.payload
                if on_stdout:
                    on_stdout(message.payload)
            elif message.kind == "err":
                err += message.payload
                if on_stderr:
                    on_stderr(message.payload)
            elif message.kind == "exit":
                return _result(message.word, out, err)
            else:
                self._unexpected(message, "run")

    def write_file(self, path: str, data: bytes | str, mode: int = 0o644) -> None:
        """Create or replace a guest file (its folder must exist)."""
        if isinstance(data, str):
            data = data.encode()
        payload = path.encode() + b"\0" + data
        self._send("put", mode, len(payload), payload=payload)
        message = self._next(None, f"writing {path}")
        if message.kind != "done":
            self._unexpected(message, "put")

    def read_file(self, path: str) -> bytes:
        """The contents of a regular guest file."""
        payload = path.encode()
        self._send("get", len(payload), payload=payload)
        message = self._next(None, f"reading {path}")
        if message.kind != "data":
            self._unexpected(message, "get")
        return message.payload

    # -- plumbing -----------------------------------------------------------

    def _require(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise MachineError("the machine is not running (use start() or a with block)")
        return self._process

    def _send(self, kind: str, *words: int, payload: bytes = b"", id_: int | None = None) -> int:
        """Send a request "KIND ID WORDS..." and its payload; returns its id."""
        process = self._require()
        id_ = next(self._ids) if id_ is None else id_
        try:
            assert process.stdin is not None
            process.stdin.write(agent.encode(kind, id_, *words, payload=payload))
            process.stdin.flush()
        except OSError:
            raise MachineError(f"the machine stopped: {self._why_stopped()}") from None
        return id_

    def _next(self, timeout: float | None, what: str) -> agent.Message:
        try:
            item = self._messages.get(timeout=timeout)
        except queue.Empty:
            if what == "boot":
                self.close()
                raise MachineError(f"no agent after {timeout:g} s of boot") from None
            raise _Timeout from None
        if isinstance(item, agent.Message):
            return item
        self._messages.put(item)  # every later call sees the end too
        if isinstance(item, Exception):
            raise MachineError(f"bad message from the guest agent: {item}")
        raise MachineError(f"the machine stopped during {what}: {self._why_stopped()}")

    def _why_stopped(self) -> str:
        process = self._process
        if process is not None:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
        reasons = [line for line in self._stderr_tail if line.startswith("linuxwasm: ")]
        if reasons:
            return reasons[-1].removeprefix("linuxwasm: ")
        status = process.returncode if process else "?"
        return f"exit status {status}" + (f" ({self._stderr_tail[-1]})" if self._stderr_tail else "")

    def _finish_killed(self, id_: int, out: bytearray, err: bytearray) -> None:
        """After a kill: the rest of the command's output, and its exit."""
        while True:
            message = self._next(SHUTDOWN_TIMEOUT, "kill")
            if message.kind == "out":
                out += message.payload
            elif message.kind == "err":
                err += message.payload
            elif message.kind == "exit" and message.id == id_:
                return

    def _unexpected(self, message: agent.Message, request: str) -> None:
        if message.kind == "error":
            raise LinuxWasmError(message.payload.decode(errors="replace"))
        raise MachineError(f"unexpected {message.kind!r} from the guest agent after {request}")

    def _read_messages(self) -> None:
        process = self._require()
        assert process.stdout is not None
        try:
            while (message := agent.read_message(process.stdout)) is not None:
                self._messages.put(message)
        except agent.ProtocolError as e:
            self._messages.put(e)
            return
        self._messages.put(None)

    def _read_stderr(self) -> None:
        process = self._require()
        assert process.stderr is not None
        for line in process.stderr:
            if self.verbose:
                sys.stderr.buffer.write(line)
                sys.stderr.buffer.flush()
            self._stderr_tail.append(line.decode(errors="replace").rstrip())


class _Timeout(Exception):
    pass


def _result(code: int, out: bytearray, err: bytearray) -> Result:
    return Result(code, out.decode(errors="replace"), err.decode(errors="replace"))
