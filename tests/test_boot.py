"""Boot the real kernel under Node and read what it prints."""

from pathlib import Path

import pytest

from linuxwasm import runner
from linuxwasm.errors import LinuxWasmError
from tests.conftest import boot


def test_kernel_boots_to_init_and_panics_without_one(kernel_image):
    result = boot(runner.RunOptions(kernel=kernel_image, initramfs=None, timeout=30))
    assert "Linux version 6.1.192" in result.stdout
    assert "Run /init as init process" not in result.stdout  # no initramfs, no /init
    assert "Kernel panic - not syncing: No working init found" in result.stdout
    assert result.returncode == runner.EXIT_PANIC
    assert result.stderr.startswith("linuxwasm: kernel panic: No working init found")


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


def test_node_runtime_reports_a_bad_image_itself(tmp_path: Path):
    """The runtime does not trust its caller: a bad image is an error, not a hang."""
    broken = tmp_path / "vmlinux.wasm"
    broken.write_bytes(b"\0asm\1\0\0\0garbage")
    import subprocess
    cmd = runner.node_command(runner.RunOptions(kernel=broken, initramfs=None, timeout=10))
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert result.returncode == runner.EXIT_TRAP
    assert result.stderr.startswith("linuxwasm: not a valid kernel image")
