"""linuxwasm bench's parsing of benchmark output (timings themselves are not tested)."""

import pytest

from linuxwasm import bench
from linuxwasm.errors import LinuxWasmError


def test_parse_reads_the_three_benchmarks():
    values = bench._parse("getppid 41.5 ns\nspawn 1200.0 us\nnoise\ncompute 213.4 ms\n")
    assert values == {"getppid": (41.5, "ns"), "spawn": (1200.0, "us"), "compute": (213.4, "ms")}


def test_parse_refuses_incomplete_output():
    with pytest.raises(LinuxWasmError, match="benchmark output incomplete"):
        bench._parse("getppid 41.5 ns\nspawn failed\n")


def test_ratio_is_guest_over_native():
    assert bench.Result("x", 3.0, 2.0, "ms", "").ratio == 1.5
    assert bench.Result("x", 3.0, None, "ms", "").ratio is None
