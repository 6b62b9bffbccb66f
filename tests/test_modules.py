"""Loadable kernel modules (issue 16): what the kernel's loader does so far."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from linuxwasm import system
from linuxwasm.machine import Machine


@pytest.fixture(scope="module")
def machine(kernel_image: Path) -> Iterator[Machine]:
    with Machine(kernel_image, system.build()) as m:
        yield m


def test_the_kernel_lists_its_modules(machine: Machine) -> None:
    r = machine.run("cat /proc/modules | wc -l; lsmod")
    assert r.exit_code == 0 and r.stderr == "", r
    assert r.stdout.split("\n")[0] == "0"


def test_a_file_that_is_no_module_is_refused_by_the_loader(machine: Machine) -> None:
    r = machine.run("insmod /etc/passwd")
    assert r.exit_code == 1
    assert "invalid module format" in r.stderr, r
    assert "Invalid ELF header magic" in machine.run("dmesg | tail -3").stdout
    assert machine.run("echo alive").stdout == "alive\n"
