"""linuxwasm bench's parsing of benchmark output (timings themselves are not tested)."""

import pytest

from linuxwasm import bench
from linuxwasm.errors import LinuxWasmError


def test_parse_reads_the_benchmarks():
    values = bench._parse("getppid 41.5 ns\nspawn 1200.0 us\nnoise\nfork 140.2 us\nfork64 45000.0 us\n"
                          "compute 213.4 ms\n")
    assert values == {"getppid": (41.5, "ns"), "spawn": (1200.0, "us"), "fork": (140.2, "us"),
                      "fork64": (45000.0, "us"), "compute": (213.4, "ms")}


def test_parse_of_the_program_without_fork():
    names = ("getppid", "spawn", "compute")
    assert bench._parse("getppid 41.5 ns\nspawn 1200.0 us\ncompute 213.4 ms\n", names)["compute"] == (213.4, "ms")


def test_parse_refuses_incomplete_output():
    with pytest.raises(LinuxWasmError, match="benchmark output incomplete"):
        bench._parse("getppid 41.5 ns\nspawn failed\n")


def test_ratio_is_guest_over_native():
    assert bench.Result("x", 3.0, 2.0, "ms", "").ratio == 1.5
    assert bench.Result("x", 3.0, None, "ms", "").ratio is None
