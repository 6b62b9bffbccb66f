"""fork() for programs built the ordinary way (runtime/fork.js, src/linuxwasm/forkable.py)."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from linuxwasm import Machine, forkable, guest, musl, system, wasm
from linuxwasm.paths import BUILD, GUEST
from tests.host_memory import rss_mib


def _fork_program() -> Path:
    return guest.build_program(GUEST / "fork.c", BUILD / "guest" / "fork.wasm", libc=True)


@pytest.fixture(scope="module", params=[True, False], ids=["coroutines", "threads"])
def machine(request, kernel_image: Path) -> Iterator[Machine]:
    # Room for the 64 MiB process and its copy.
    with Machine(kernel_image, system.build(), memory_mib=320, coroutines=request.param) as m:
        m.write_file("/root/fork", _fork_program().read_bytes(), mode=0o755)
        yield m


def _case(machine: Machine, *names: str, timeout: float = 60) -> list[str]:
    r = machine.run(f"/root/fork {' '.join(names)}", timeout=timeout)
    assert r.exit_code == 0 and r.stderr == "", r
    return r.stdout.splitlines()


def test_only_a_program_that_forks_is_rewritten() -> None:
    def exports(path: Path) -> set[str]:
        return {e.name for e in wasm.read_module(path).exports}

    busy = guest.build_program(GUEST / "busy.c", BUILD / "guest" / "busy.wasm", libc=True)
    assert "asyncify_start_unwind" in exports(_fork_program())
    assert not any(name.startswith("asyncify") for name in exports(busy))


def test_a_rewrite_says_what_it_did_and_is_taken_from_the_cache(tmp_path: Path) -> None:
    """BusyBox's trylink links the same program up to five times: the second
    link of the same bytes takes the rewrite from the cache."""
    cc, env = str(musl.build()), {**os.environ, "LINUXWASM_CACHE": str(tmp_path / "cache")}
    link = [cc, "-O2", "-o", str(tmp_path / "fork.wasm"), str(GUEST / "fork.c")]
    subprocess.run(link, check=True, env=env)
    facts = forkable.report(tmp_path / "fork.wasm")
    assert facts is not None and 0 < facts["rewritten"] < facts["functions"], facts
    assert facts["bytes_before"] < (tmp_path / "fork.wasm").stat().st_size
    (entry,) = (tmp_path / "cache" / "forkable").glob("*.wasm")
    assert entry.read_bytes() == (tmp_path / "fork.wasm").read_bytes()
    marked = entry.read_bytes() + forkable._custom_section("test.marker", b"cached")
    entry.write_bytes(marked)
    subprocess.run(link, check=True, env=env)
    assert (tmp_path / "fork.wasm").read_bytes() == marked


def test_the_compiler_wrapper_leaves_what_is_no_program_alone(tmp_path: Path) -> None:
    """Configure scripts ask the compiler for its version and link probes that fail."""
    cc = str(musl.build())
    assert subprocess.run([cc, "--version"], capture_output=True, cwd=tmp_path).returncode == 0
    (tmp_path / "bad.c").write_text("int main(void) { return undefined(); }\n")
    failed = subprocess.run([cc, "-o", "bad", "bad.c"], capture_output=True, text=True, cwd=tmp_path)
    assert failed.returncode != 0 and "undefined" in failed.stderr and "forkable" not in failed.stderr


def test_fork_returns_twice_and_copies_memory_both_ways(machine: Machine) -> None:
    assert _case(machine, "basic") == ["fork returned the pid in the parent, 0 in the child"]


def test_nested_forks(machine: Machine) -> None:
    assert _case(machine, "nested") == ["nested 10 deep"]


def test_forks_in_a_loop_and_deep_in_a_recursion(machine: Machine) -> None:
    assert _case(machine, "loop", "200") == ["200 forks in a row"]


def test_pipes_and_files_across_a_fork(machine: Machine) -> None:
    assert _case(machine, "pipes", "files") == ["child read 5 bytes: hello", "file: child,parent"]


def test_exec_in_the_child(machine: Machine) -> None:
    assert _case(machine, "exec") == ["exec'd in the child"]


def test_signal_handlers_in_parent_and_child(machine: Machine) -> None:
    assert _case(machine, "handlers") == ["handlers run in parent and child"]


def test_fork_in_a_signal_handler_fails_with_enosys(machine: Machine) -> None:
    assert _case(machine, "in-handler") == ["fork in a signal handler: Function not implemented"]


def test_hostile_forks_and_clones_are_refused(machine: Machine) -> None:
    assert _case(machine, "hostile") == ["hostile forks and clones refused; the child died of Illegal instruction"]
    assert machine.run("echo alive").stdout == "alive\n"


def test_atexit_and_stdio_buffers_are_copied(machine: Machine) -> None:
    assert _case(machine, "exits") == [
        "atexit handler in the child",
        "buffered before the fork, then in the second child",
        "buffered before the fork, then in the parent",
        "atexit handler in the parent",
    ]


def test_fork_with_threads(machine: Machine) -> None:
    assert _case(machine, "threads") == ["the child has one thread, and a thread can fork"]


def test_a_child_is_a_zombie_until_reaped(machine: Machine) -> None:
    assert _case(machine, "zombie") == ["a zombie until reaped"]


def test_fork_over_the_process_limit_fails_with_eagain(machine: Machine) -> None:
    assert _case(machine, "limit") == ["fork over the limit: Resource temporarily unavailable"]


def test_a_64_mib_process_forks(machine: Machine) -> None:
    assert _case(machine, "large") == ["64 MiB copied"]
    # The child's memory went back to the machine.
    r = machine.run("/root/fork large large", timeout=60)
    assert r.exit_code == 0, r


def test_a_thousand_forks_do_not_grow_host_memory(machine: Machine) -> None:
    """1,000 forks after a warm-up of 1,000: the host's memory may move by what a
    collection leaves lying around, far less than a copy per fork would (32 MiB
    at 32 KiB each)."""
    _case(machine, "loop", "1000", timeout=120)
    before = rss_mib(machine.pid)
    assert _case(machine, "loop", "1000", timeout=120) == ["1000 forks in a row"]
    after = rss_mib(machine.pid)
    assert after - before < 32, f"host memory {before:.0f} -> {after:.0f} MiB over 1,000 forks"
