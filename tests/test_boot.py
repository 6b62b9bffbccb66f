"""Boot the real kernel under Node and read what it prints."""

import subprocess
from pathlib import Path

import pytest

from linuxwasm import guest, runner
from linuxwasm.errors import LinuxWasmError
from tests.conftest import boot, boot_program


@pytest.fixture(scope="session")
def init_initramfs(tmp_path_factory) -> Path:
    return guest.build("init.c", tmp_path_factory.mktemp("init") / "initramfs.cpio.gz")


@pytest.fixture(scope="session")
def trap_initramfs(tmp_path_factory) -> Path:
    return guest.build("trap.c", tmp_path_factory.mktemp("trap") / "initramfs.cpio.gz")


# The two ways the host runs tasks (runtime/coroutines.js, runtime/thread.js):
# the tests of what a task does run in both.
TASKING = pytest.mark.parametrize("coroutines", [False, True], ids=["threads", "coroutines"])


@TASKING
def test_boots_runs_init_and_powers_off(kernel_image, init_initramfs, coroutines):
    result = boot(runner.RunOptions(kernel=kernel_image, initramfs=init_initramfs, timeout=30,
                                    coroutines=coroutines))
    out = result.stdout
    assert "Linux version 6.1.192" in out
    mode = "coroutines on one host thread" if coroutines else "host threads"
    assert f"tasks run as {mode}\n" in out
    assert "Run /init as init process" in out
    assert "hello from wasm userspace\nargv: /init\nenv: HOME=/\nenv: TERM=linux\n" in out
    assert "uname release: 6.1.192\n" in out
    assert "proc version: Linux version 6.1.192 " in out
    child = [line for line in out.splitlines() if line.startswith("child pid ")]
    assert len(child) == 1, f"exit {result.returncode}: {result.stderr}\n{out}"
    pid = int(child[0].removeprefix("child pid "))
    assert pid > 1
    assert f"child {pid} exited with status 7\n" in out
    assert "powering off\n" in out
    assert "reboot: Power down" in out
    assert result.returncode == runner.EXIT_POWER_OFF, result.stderr


def test_init_gets_arguments_and_environment_from_the_command_line(kernel_image, init_initramfs):
    options = runner.RunOptions(kernel=kernel_image, initramfs=init_initramfs, timeout=30,
                                cmdline="console=hvc0 GREETING=hi -- first second")
    result = boot(options)
    assert "argv: /init\nargv: first\nargv: second\n" in result.stdout
    assert "env: GREETING=hi\n" in result.stdout
    assert result.returncode == runner.EXIT_POWER_OFF


def test_init_that_traps_panics_the_kernel(kernel_image, trap_initramfs):
    result = boot(runner.RunOptions(kernel=kernel_image, initramfs=trap_initramfs, timeout=30))
    assert "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000004" in result.stdout
    assert result.returncode == runner.EXIT_PANIC
    assert result.stderr.startswith("linuxwasm: kernel panic: Attempted to kill init!")


def test_user_memory_layout(kernel_image, tmp_path):
    """brk, anonymous and file mmap, munmap and reuse: guest/memory.c checks each."""
    result = boot_program(kernel_image, tmp_path, "memory.c")
    checks = [line for line in result.stdout.splitlines() if line.startswith(("ok: ", "FAILED: "))]
    assert len(checks) == 11, result.stdout
    assert not [line for line in checks if line.startswith("FAILED")], checks
    assert "memory checks done" in result.stdout
    assert result.returncode == runner.EXIT_POWER_OFF


@TASKING
def test_processes_never_see_an_earlier_ones_data(kernel_image, tmp_path, coroutines):
    """Children that scribble over all the memory they reach alternate with children
    that find theirs zeroed: a recycled program memory (runtime/memories.js) is clean."""
    result = boot_program(kernel_image, tmp_path, "recycle-init.c", libc=True, coroutines=coroutines)
    rounds = [line for line in result.stdout.splitlines() if ": round " in line]
    assert len(rounds) == 4 and all(line.startswith("ok: ") for line in rounds), result.stdout
    assert "recycle checks done" in result.stdout
    assert result.returncode == runner.EXIT_POWER_OFF, result.stderr


@TASKING
def test_init_built_with_musl(kernel_image, tmp_path, coroutines):
    """stdio, malloc through mmap, files, posix_spawn + waitpid, with musl."""
    result = boot_program(kernel_image, tmp_path, "libc-init.c", libc=True, coroutines=coroutines)
    out = result.stdout
    assert "musl init: Linux 6.1.192, argc 1, TERM=linux\n" in out
    assert "malloc: 4 MiB ok\n" in out
    assert "fopen: Linux version\n" in out
    child = [line for line in out.splitlines() if line.startswith("child: pid ")]
    assert len(child) == 1 and child[0].endswith(", parent 1"), out
    pid = child[0].split()[2].rstrip(",")
    assert f"posix_spawn: child {pid} exited with 5\n" in out
    assert result.returncode == runner.EXIT_POWER_OFF


@TASKING
def test_posix_threads(kernel_image, tmp_path, coroutines):
    """Four threads, a mutex, a condition variable, join, per-thread errno."""
    result = boot_program(kernel_image, tmp_path, "threads-init.c", libc=True, coroutines=coroutines)
    out = result.stdout
    assert "threads: counter 80000 of 80000\n" in out
    assert "threads: joined with their results and errno values: ok\n" in out
    assert "threads: main's errno untouched: ok\n" in out
    assert result.returncode == runner.EXIT_POWER_OFF


@TASKING
def test_setjmp_and_crashing_children(kernel_image, tmp_path, coroutines):
    """longjmp across frames; children that fault, overflow their stack or trap in a trap's handler
    die by SIGSEGV/SIGILL."""
    result = boot_program(kernel_image, tmp_path, "faults-init.c", libc=True, coroutines=coroutines)
    out = result.stdout
    assert "faults: setjmp returned 42 after 2 entries\n" in out
    assert "faults: segv child killed by Segmentation fault\n" in out
    assert "faults: trap child killed by Illegal instruction\n" in out
    assert "faults: stack child killed by Segmentation fault\n" in out
    assert "faults: handler child killed by Illegal instruction\n" in out
    assert "faults: still running\n" in out
    assert result.returncode == runner.EXIT_POWER_OFF


@TASKING
def test_signal_handlers(kernel_image, tmp_path, coroutines):
    """Handlers, EINTR, SA_RESTART with system calls in the handler, longjmp out, SIGTERM."""
    result = boot_program(kernel_image, tmp_path, "signals-init.c", libc=True, coroutines=coroutines)
    checks = [line for line in result.stdout.splitlines() if line.startswith("signals: ")]
    assert len(checks) == 5, result.stdout
    assert all(line.endswith(": ok") for line in checks), checks
    assert result.returncode == runner.EXIT_POWER_OFF


def test_without_initramfs_there_is_no_init(kernel_image):
    result = boot(runner.RunOptions(kernel=kernel_image, initramfs=None, timeout=30))
    assert "Linux version 6.1.192" in result.stdout
    # No /init: the kernel looks for a root file system on a disk, as Linux does, and has none.
    assert "Kernel panic - not syncing: VFS: Unable to mount root fs" in result.stdout
    assert result.returncode == runner.EXIT_PANIC


def test_truncated_kernel_is_a_one_line_error(kernel_image, tmp_path):
    broken = tmp_path / "vmlinux.wasm"
    broken.write_bytes(kernel_image.read_bytes()[:100_000])
    with pytest.raises(LinuxWasmError, match=str(broken)):
        runner.check_inputs(runner.RunOptions(kernel=broken, initramfs=None))


def test_corrupt_kernel_is_a_one_line_error(tmp_path):
    broken = tmp_path / "vmlinux.wasm"
    broken.write_bytes(b"this is not wasm at all")
    with pytest.raises(LinuxWasmError, match=f"{broken}: not a WebAssembly module"):
        runner.check_inputs(runner.RunOptions(kernel=broken, initramfs=None))


def test_missing_initramfs_is_a_one_line_error(kernel_image, tmp_path):
    missing = tmp_path / "nothing.cpio.gz"
    with pytest.raises(LinuxWasmError, match=f"{missing}: initramfs not found"):
        runner.check_inputs(runner.RunOptions(kernel=kernel_image, initramfs=missing))


# The runtime does not trust its caller: a bad image is an error, not a hang.
@pytest.mark.parametrize("image, error", [
    (b"\0asm\1\0\0\0garbage", "linuxwasm: not a valid kernel image"),
    # A valid Wasm module that is no kernel is refused by what it lacks.
    (b"\0asm\1\0\0\0", "linuxwasm: not a valid kernel image: no export boot, task_entry,"),
], ids=["garbage", "no-kernel"])
def test_node_runtime_reports_a_bad_image_itself(tmp_path, image, error):
    broken = tmp_path / "vmlinux.wasm"
    broken.write_bytes(image)
    cmd = runner.node_command(runner.RunOptions(kernel=broken, initramfs=None, timeout=10))
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert result.returncode == runner.EXIT_TRAP
    assert result.stderr.startswith(error)
