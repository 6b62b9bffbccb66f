"""The host runtime on its own, with small stand-in kernels built here."""

import shutil
import subprocess
from pathlib import Path

import pytest

from linuxwasm import runner

FIXTURES = Path(__file__).parent / "fixtures"

needs_clang = pytest.mark.skipif(
    not (shutil.which("clang-19") and shutil.which("wasm-ld-19")),
    reason="clang-19 and wasm-ld-19 are needed to build the stand-in kernel",
)


@needs_clang
def test_trap_in_a_task_thread_names_the_task_and_the_trap(tmp_path):
    kernel = tmp_path / "vmlinux.wasm"
    subprocess.run(
        ["clang-19", "--target=wasm32-unknown-unknown", "-O2", "-matomics", "-mbulk-memory",
         "-nostdlib", "-Wl,--no-entry", "-Wl,--shared-memory", "-Wl,--import-memory",
         "-Wl,--max-memory=1073741824", "-o", str(kernel), str(FIXTURES / "trapping_kernel.c")],
        check=True,
    )
    cmd = runner.node_command(runner.RunOptions(kernel=kernel, initramfs=None, timeout=20))
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert result.returncode == runner.EXIT_TRAP
    first = result.stderr.splitlines()[0]
    assert first == "linuxwasm: trap in task swapper: RuntimeError: unreachable"


def test_timeout_ends_the_machine(kernel_image):
    """A machine that runs past --timeout is stopped with status 124, not left hanging."""
    cmd = runner.node_command(runner.RunOptions(kernel=kernel_image, initramfs=None, timeout=0.05))
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert result.returncode == runner.EXIT_TIMEOUT
    assert result.stderr.strip() == "linuxwasm: timed out after 0.05 s"


def test_the_pages_agent_client_takes_no_nonsense_from_the_guest():
    """runtime/agent-client.js against a stand-in agent (tests/fixtures/agent_client.mjs):
    answers are read as agent.py reads them, and anything else breaks the channel
    with the reason, never with an exception of its own."""
    import json

    from linuxwasm import nodejs

    done = subprocess.run([str(nodejs.build()), str(FIXTURES / "agent_client.mjs")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "get": {"data": "abcde"},
        "tooLarge": {"error": "/root/f: larger than 4 bytes"},
        "afterTooLarge": {"data": "abcde"},  # the rest of the large one was let pass
        "put": {"ok": True},
        "error": {"error": "no such file!"},
        "wrongId": {"error": "the guest agent answered request 999, not asked"},
        "afterBroken": {"error": "the guest agent answered request 999, not asked"},
        "hugeLength": {"error": "the guest agent sent a data message of 99999 bytes"},
        "garbage": {"error": "the guest agent sent what is not a message header"},
        "endlessHeader": {"error": "the guest agent sent a header that is too long"},
    }
