"""A short soak (`linuxwasm soak` runs the long one): boots, checked commands,
every hostile probe, and the host's memory."""

from pathlib import Path

from linuxwasm import soak, system


def test_short_soak(kernel_image: Path, testsuite_summary: list[str]) -> None:
    report = soak.soak(kernel_image, system.build(), boots=5, commands=600)
    testsuite_summary.extend(f"soak: {line}" for line in report.lines())
    assert report.ok, "\n".join(report.lines())
    assert {p.name for p in report.probes} == set(soak.PROBES)
    # A leak would show: a few MiB per 1,000 commands is allocator noise.
    assert report.growth_per_1000_commands() < 20, "\n".join(report.lines())
