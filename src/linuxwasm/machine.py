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
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NoReturn

from linuxwasm import agent, disks as disk_images, net as networks, runner, shares as shared_folders
from linuxwasm.errors import LinuxWasmError
from linuxwasm.switch import Network

BOOT_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 10.0
# After a kill: how long a command's end is awaited before the caller gets
# its CommandTimeout, and then how long the next request waits for it.
KILL_GRACE = 1.0
UNFINISHED_TIMEOUT = 30.0
# Messages read ahead of the caller (each at most a few KiB of output).
MESSAGES_QUEUED = 256
# The most output run() keeps for its Result (stdout and stderr together).
MAX_OUTPUT = 256 << 20
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


class OutputTooLarge(LinuxWasmError):
    """A command's kept output went over max_output; it was killed, the machine goes on."""

    def __init__(self, command: str, limit: int, partial: Result) -> None:
        super().__init__(f"command output over {limit} bytes (stream it with on_stdout): {command}")
        self.partial = partial


class CommandTimeout(LinuxWasmError):
    """A command ran longer than its timeout; it was killed, the machine goes on."""

    def __init__(self, command: str, timeout: float, partial: Result) -> None:
        super().__init__(f"command timed out after {timeout:g} s: {command}")
        self.partial = partial


class Machine:
    """A Linux system booted under Node; see the module's docstring.

    Threads may share a Machine: its requests (run, read_file, write_file)
    are served one at a time, in the order they come.
    """

    def __init__(self, kernel: Path | None = None, initramfs: Path | None = None, *,
                 memory_mib: int = 128, verbose: bool = False, cmdline: str = "",
                 boot_timeout: float = BOOT_TIMEOUT,
                 disks: Iterable[disk_images.Disk | str] = (),
                 shares: Iterable[shared_folders.Share | str] = (),
                 net: bool | networks.Nat = False, network: Network | None = None,
                 coroutines: bool = True) -> None:
        """Build what is missing (kernel, system image) unless given; boot on start().

        cmdline is added to the kernel command line the machine needs.
        disks are the guest's /dev/vda, /dev/vdb, ...: each a Disk, or a
        spec as `linuxwasm run --disk` takes it ("home.img:/root",
        "base.img:/data:ro", "scratch.img:/mnt:snapshot"). A disk mounted on
        "/" is the root file system instead of the initramfs. shares are
        host folders mounted over 9p: each a Share, or a spec as --share
        takes it ("./project:/mnt/project", "./data:/data:ro"). What the
        guest could not mount is in notices once the machine has started.
        net=True gives the guest a network card (eth0) behind a NAT
        (passt), as `run --net` does; net=Nat(publish=..., host_loopback=...)
        says more. network=Network() puts a card (the next ethN) on that
        switch, with its own address there (address, once started).
        coroutines=False runs every task on a host thread of its own, as
        engines without stack switching must (docs/how-it-works.md).
        """
        runner.check_memory(memory_mib)
        if kernel is None or initramfs is None:
            from linuxwasm import kernel as kernel_build, system

            kernel = kernel or kernel_build.build()
            initramfs = initramfs or system.build()
        attached = tuple(d if isinstance(d, disk_images.Disk) else disk_images.parse_disk(d) for d in disks)
        folders = tuple(s if isinstance(s, shared_folders.Share) else shared_folders.parse_share(s) for s in shares)
        self.options = runner.RunOptions(kernel=kernel, initramfs=initramfs,
                                         cmdline=f"{AGENT_CMDLINE} {cmdline}".strip(),
                                         memory_mib=memory_mib, disks=attached, shares=folders,
                                         coroutines=coroutines,
                                         networks=((networks.Nat(),) if net is True else (net,) if net else ())
                                         + ((networks.Switched(network),) if network else ()))
        # The guest's address on network, once started ("10.0.1.2").
        self.address: str | None = None
        # What went wrong at boot that the guest's init reported (a disk that did not mount).
        self.notices: list[str] = []
        self._locks = ExitStack()
        self.verbose = verbose
        self.boot_timeout = boot_timeout
        self._process: subprocess.Popen[bytes] | None = None
        # Bounded: a guest that sends faster than the caller takes waits.
        self._messages: queue.Queue[agent.Message | Exception | None] = queue.Queue(MESSAGES_QUEUED)
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self._ids = itertools.count(1)
        self._sending = threading.Lock()
        self._serving = threading.Lock()
        self._serving_thread: int | None = None
        self._unfinished: int | None = None  # a command killed that has not ended yet
        self._failure: str | None = None

    # -- life cycle ---------------------------------------------------------

    def start(self) -> Machine:
        """Boot and wait until the agent is ready."""
        if self._process is not None:
            raise MachineError("the machine is already started")
        runner.check_inputs(self.options)
        try:
            self._locks.enter_context(disk_images.locked(self.options.disks))
            cables = self._locks.enter_context(networks.cables(self.options.networks))
            if any(isinstance(card, networks.Switched) for card in self.options.networks):
                self.address = cables.addresses[-1].split("/")[0]
            cmd = runner.node_command(self.options, cables) + ["--agent"] + (["--verbose"] if self.verbose else [])
            self._process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, pass_fds=cables.fds)
        except BaseException:
            self._locks.close()
            raise
        threading.Thread(target=self._read_messages, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        try:
            try:
                ready = self._next(0, self.boot_timeout, "boot", expect=("ready",))
            except _NoAnswer:
                self._stop(f"no agent after {self.boot_timeout:g} s of boot")
        except BaseException:
            self.close()  # the disks' locks go with it
            raise
        self.notices = ready.payload.decode(errors="replace").splitlines()
        return self

    def close(self) -> None:
        """Power off: the agent ends when asked, and init then powers the machine off."""
        process = self._process
        if process is None:
            return
        try:
            assert process.stdin is not None
            with self._sending:
                process.stdin.write(agent.encode("bye", 0, 0))
                process.stdin.close()
        except (OSError, ValueError):
            pass
        self._process = None
        try:
            process.wait(SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        finally:
            self._locks.close()

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
            on_stdout: Output | None = None, on_stderr: Output | None = None,
            max_output: int = MAX_OUTPUT) -> Result:
        """Run command with the guest's /bin/sh -c.

        Its stdin is input (bytes, text, or a binary file read to its end
        as the command goes), /dev/null without. on_stdout and on_stderr,
        if given, get that output as it comes, and it is not kept (the
        Result has none of it): so output of any size passes in bounded
        memory. Output that is kept may be max_output bytes at most: beyond
        that the command is killed and OutputTooLarge raised. If a callback
        raises (or Ctrl-C comes), the command is killed and the exception
        goes on. After timeout seconds every process the command started
        is killed (whatever its session) and CommandTimeout raised within
        about a second; the machine stays usable. A command may have at
        most 256 processes at once. Callbacks must not make requests of
        the machine themselves.
        """
        payload = _encoded(command, "command")
        with self._request():
            id_ = next(self._ids)
            feeder = None if input is None else _Feeder(self, id_, _as_file(input))
            self._send("run", len(payload), *([1] if feeder else []), payload=payload, id_=id_)
            if feeder:
                feeder.start()
            out, err = bytearray(), bytearray()
            sinks = {"out": (out, on_stdout), "err": (err, on_stderr)}
            deadline = None if timeout is None else time.monotonic() + timeout
            ended = False
            try:
                while True:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    try:
                        if remaining is not None and remaining <= 0:
                            raise _NoAnswer  # also when messages keep coming
                        message = self._next(id_, remaining, f"command {command!r}",
                                             expect=("out", "err", "ack", "exit", "error"))
                    except _NoAnswer:
                        ended = self._kill(id_, out, err, on_stdout, on_stderr, max_output)
                        raise CommandTimeout(command, timeout or 0, _result(137, out, err)) from None
                    if message.kind in sinks:
                        kept, callback = sinks[message.kind]
                        if callback is not None:
                            callback(message.payload)
                        elif len(out) + len(err) + len(message.payload) > max_output:
                            ended = self._kill(id_, out, err, None, None, max_output)
                            raise OutputTooLarge(command, max_output, _result(137, out, err))
                        else:
                            kept += message.payload
                    elif message.kind == "ack":
                        if feeder is None:
                            self._stop("the guest agent acknowledged input that was never sent")
                        try:
                            feeder.credit.release()
                        except ValueError:
                            self._stop("the guest agent acknowledged input it was not sent")
                    elif message.kind == "exit":
                        ended = True
                        return _result(message.word, out, err)
                    else:
                        ended = True  # the command never started
                        raise LinuxWasmError(message.payload.decode(errors="replace"))
            except BaseException:
                # A callback's exception, Ctrl-C, ...: the command must not go on.
                if not ended and self._failure is None and self._process is not None:
                    try:
                        self._kill(id_, out, err, None, None, max_output)
                    except (LinuxWasmError, _NoAnswer):
                        pass
                raise
            finally:
                if feeder:
                    feeder.stop()

    def write_file(self, path: str, data: bytes | str, mode: int = 0o644,
                   timeout: float | None = None) -> None:
        """Create or replace a regular guest file (its folder must exist).

        If the guest does not answer within timeout seconds, the machine is
        stopped and MachineError raised.
        """
        if isinstance(data, str):
            data = data.encode()
        payload = _encoded(path, "path") + b"\0" + data
        with self._request():
            id_ = self._send("put", mode & 0o7777, len(payload), payload=payload)
            self._answer(id_, ("done",), None if timeout is None else time.monotonic() + timeout,
                         f"writing {path}")

    def read_text(self, path: str, timeout: float | None = None) -> str:
        """The contents of a regular guest file as text (UTF-8, undecodable bytes replaced)."""
        return self.read_file(path, timeout).decode(errors="replace")

    def read_file(self, path: str, timeout: float | None = None) -> bytes:
        """The contents of a regular guest file.

        If the guest does not answer within timeout seconds, the machine is
        stopped and MachineError raised.
        """
        payload = _encoded(path, "path")
        with self._request():
            id_ = self._send("get", len(payload), payload=payload)
            data = bytearray()
            deadline = None if timeout is None else time.monotonic() + timeout
            while (message := self._answer(id_, ("data", "done"), deadline, f"reading {path}")).kind == "data":
                data += message.payload
            return bytes(data)

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

    @contextmanager
    def _request(self) -> Iterator[None]:
        """One request at a time; a killed command's end comes first."""
        if self._serving_thread == threading.get_ident():
            raise MachineError("a request from inside a callback of another request")
        with self._serving:
            self._serving_thread = threading.get_ident()
            try:
                self._finish_unfinished()
                yield
            finally:
                self._serving_thread = None

    def _answer(self, id_: int, kinds: tuple[str, ...], deadline: float | None, what: str) -> agent.Message:
        """The next answer to a file request: a message of one of kinds, or its error raised."""
        try:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise _NoAnswer
            message = self._next(id_, remaining, what, expect=(*kinds, "error"))
        except _NoAnswer:
            self._stop(f"no answer in time {what}: the machine was stopped")
        if message.kind == "error":
            raise LinuxWasmError(message.payload.decode(errors="replace"))
        return message

    def _next(self, id_: int, timeout: float | None, what: str, expect: tuple[str, ...]) -> agent.Message:
        """The next message, which must answer request id_ with one of the kinds in expect."""
        if self._failure:
            raise MachineError(self._failure)
        try:
            item = self._messages.get(timeout=timeout)
        except queue.Empty:
            raise _NoAnswer from None
        if isinstance(item, agent.Message):
            if item.id != id_ or item.kind not in expect:
                self._stop(f"the guest agent sent {item.kind!r} for request {item.id} during {what}")
            return item
        if isinstance(item, Exception):
            self._stop(f"bad message from the guest agent: {item}")
        self._failure = f"the machine stopped during {what}: {self._why_stopped()}"
        raise MachineError(self._failure)

    def _stop(self, why: str) -> NoReturn:
        """The machine cannot go on: stop it, and say why from now on."""
        self._failure = why
        process = self._process
        if process is not None:
            process.kill()
        raise MachineError(why)

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

    def _kill(self, id_: int, out: bytearray, err: bytearray,
              on_stdout: Output | None, on_stderr: Output | None, max_output: int) -> bool:
        """Kill everything the running command started, taking what output comes meanwhile
        (up to max_output kept); True once it has ended.

        If it has not ended within KILL_GRACE, the next request waits for
        its end (_finish_unfinished) instead.
        """
        self._unfinished = id_
        self._send("kill", 9, id_=id_)
        deadline = time.monotonic() + KILL_GRACE
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = self._next(id_, remaining, "kill", expect=("out", "err", "ack", "exit"))
            except _NoAnswer:
                break
            if message.kind == "exit":
                self._unfinished = None
                return True
            if message.kind in ("out", "err"):
                callback = on_stdout if message.kind == "out" else on_stderr
                if callback is not None:
                    callback(message.payload)
                elif len(out) + len(err) + len(message.payload) <= max_output:
                    (out if message.kind == "out" else err).extend(message.payload)
        return False

    def _finish_unfinished(self) -> None:
        """Wait for the end of a command killed earlier (its output dropped)."""
        id_, self._unfinished = self._unfinished, None
        if id_ is None:
            return
        deadline = time.monotonic() + UNFINISHED_TIMEOUT
        while True:
            try:
                if (remaining := deadline - time.monotonic()) <= 0:
                    raise _NoAnswer
                message = self._next(id_, remaining, "kill", expect=("out", "err", "ack", "exit"))
            except _NoAnswer:
                self._stop(f"the guest agent did not end a killed command in {UNFINISHED_TIMEOUT:g} s "
                           "(is it stopped?): the machine was stopped")
            if message.kind == "exit":
                return

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


class _NoAnswer(Exception):
    """No message came in time (never leaves this module)."""


class _Feeder(threading.Thread):
    """Sends a command's input, one agent.INPUT_CHUNK at a time, each after the agent's ack."""

    def __init__(self, machine: Machine, id_: int, source: BinaryIO) -> None:
        super().__init__(daemon=True)
        self.machine, self.id_, self.source = machine, id_, source
        self.credit = threading.BoundedSemaphore(1)
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
        try:
            self.credit.release()
        except ValueError:
            pass  # it had its credit already: it sees stopped when it takes it


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


def _encoded(text: str, what: str) -> bytes:
    """text as the agent takes it: UTF-8, with no NUL (which would cut it short)."""
    if "\0" in text:
        raise ValueError(f"a {what} cannot contain a NUL byte")
    return text.encode()


def _result(code: int, out: bytearray, err: bytearray) -> Result:
    return Result(code, bytes(out), bytes(err))
