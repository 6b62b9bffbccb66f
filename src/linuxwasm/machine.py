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
import io
import itertools
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from linuxwasm import agent, runner
from linuxwasm.errors import LinuxWasmError

BOOT_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 10.0
# The agent's session gets the channel; the console keeps the kernel log.
AGENT_CMDLINE = "console=hvc0 linuxwasm.agent"

Output = Callable[[bytes], None]
# A command's stdin: bytes, text (UTF-8), or a binary file.
Input = bytes | bytearray | str | BinaryIO | None


@dataclass(frozen=True)
class Result:
    """What a command did: its exit status (128 + N if signal N ended it) and output.

    stdout_bytes and stderr_bytes are the output as the command wrote it;
    stdout and stderr the same as text (UTF-8, undecodable bytes replaced).
    """

    exit_code: int
    stdout_bytes: bytes
    stderr_bytes: bytes

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_bytes.decode(errors="replace")


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
                 memory_mib: int = 128, verbose: bool = False, cmdline: str = "",
                 boot_timeout: float = BOOT_TIMEOUT) -> None:
        """Build what is missing (kernel, system image) unless given; boot on start().

        cmdline is added to the kernel command line the machine needs.
        """
        runner.check_memory(memory_mib)
        if kernel is None or initramfs is None:
            from linuxwasm import kernel as kernel_build, system

            kernel = kernel or kernel_build.build()
            initramfs = initramfs or system.build()
        self.options = runner.RunOptions(kernel=kernel, initramfs=initramfs,
                                         cmdline=f"{AGENT_CMDLINE} {cmdline}".strip(),
                                         memory_mib=memory_mib)
        self.verbose = verbose
        self.boot_timeout = boot_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._messages: queue.Queue[agent.Message | Exception | None] = queue.Queue()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self._ids = itertools.count(1)
        self._sending = threading.Lock()

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

    def run(self, command: str, timeout: float | None = None, *, input: Input = None,
            on_stdout: Output | None = None, on_stderr: Output | None = None) -> Result:
        """Run command with the guest's /bin/sh -c.

        Its stdin is input (bytes, text, or a binary file read to its end
        as the command goes), /dev/null without. on_stdout and on_stderr,
        if given, get the output as it comes; if one raises, the command
        is killed and the exception goes on. After timeout seconds the
        command's process group is killed and CommandTimeout raised; the
        machine stays usable.
        """
        payload = command.encode()
        id_ = next(self._ids)
        feeder = None if input is None else _Feeder(self, id_, _as_file(input))
        self._send("run", len(payload), *([1] if feeder else []), payload=payload, id_=id_)
        if feeder:
            feeder.start()
        out, err = bytearray(), bytearray()
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    message = self._next(remaining, f"command {command!r}")
                except _Timeout:
                    self._kill(id_, out, err)
                    raise CommandTimeout(command, timeout or 0, _result(137, out, err)) from None
                if message.kind in ("out", "err"):
                    (out if message.kind == "out" else err).extend(message.payload)
                    callback = on_stdout if message.kind == "out" else on_stderr
                    if callback:
                        try:
                            callback(message.payload)
                        except BaseException:
                            self._kill(id_, out, err)
                            raise
                elif message.kind == "ack" and feeder and message.id == id_:
                    feeder.credit.release()
                elif message.kind == "exit":
                    return _result(message.word, out, err)
                else:
                    self._unexpected(message, "run")
        finally:
            if feeder:
                feeder.stop()

    def write_file(self, path: str, data: bytes | str, mode: int = 0o644) -> None:
        """Create or replace a guest file (its folder must exist)."""
        if isinstance(data, str):
            data = data.encode()
        payload = path.encode() + b"\0" + data
        self._send("put", mode, len(payload), payload=payload)
        message = self._next(None, f"writing {path}")
        if message.kind != "done":
            self._unexpected(message, "put")

    def read_text(self, path: str) -> str:
        """The contents of a regular guest file as text (UTF-8, undecodable bytes replaced)."""
        return self.read_file(path).decode(errors="replace")

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
            with self._sending:  # a command's input goes from a thread of its own
                process.stdin.write(agent.encode(kind, id_, *words, payload=payload))
                process.stdin.flush()
        except (OSError, ValueError):  # ValueError: the pipe was closed
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

    def _kill(self, id_: int, out: bytearray, err: bytearray) -> None:
        """Kill the running command's process group; the rest of its output goes to out and err."""
        self._send("kill", 9, id_=id_)
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


class _Feeder(threading.Thread):
    """Sends a command's input, one agent.INPUT_CHUNK at a time, each after the agent's ack."""

    def __init__(self, machine: Machine, id_: int, source: BinaryIO) -> None:
        super().__init__(daemon=True)
        self.machine, self.id_, self.source = machine, id_, source
        self.credit = threading.Semaphore(1)
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while True:
                try:
                    chunk = _read_some(self.source, agent.INPUT_CHUNK)
                except (OSError, ValueError):
                    chunk = b""  # a source that cannot be read ends the input
                self.credit.acquire()
                if self.stopped.is_set():
                    return
                self.machine._send("in", len(chunk), payload=chunk, id_=self.id_)
                if not chunk:
                    return
        except LinuxWasmError:
            pass  # the machine is gone, and the command with it

    def stop(self) -> None:
        self.stopped.set()
        self.credit.release()


def _as_file(input: bytes | bytearray | str | BinaryIO) -> BinaryIO:
    if isinstance(input, str):
        return io.BytesIO(input.encode())
    if isinstance(input, (bytes, bytearray)):
        return io.BytesIO(input)
    return input


def _read_some(source: BinaryIO, size: int) -> bytes:
    """What source has now, up to size bytes, waiting only for the first (b"" at its end)."""
    try:
        return os.read(source.fileno(), size)
    except (AttributeError, io.UnsupportedOperation):
        return source.read(size)


def _result(code: int, out: bytearray, err: bytearray) -> Result:
    return Result(code, bytes(out), bytes(err))
