"""BusyBox's own testsuite (testsuite/ of the same source), run inside the guest.

Every case that fails must be in packages/busybox/testsuite-known-failures
with its reason; a listed case that passes must leave the list (it only
shrinks). The counts are printed at the end of the test run.
"""

import re
import tempfile
from pathlib import Path

from linuxwasm import Machine, busybox, copies, system

# runtest's verdicts, one per line.
VERDICT = re.compile(r"^(PASS|FAIL|SKIPPED|UNTESTED): (.*)$")
# Guest memory for the run: its files live in memory.
MEMORY_MIB = 512
TIMEOUT = 1800


def run_testsuite(kernel_image: Path, skip: list[str]) -> dict[str, list[str]]:
    verdicts: dict[str, list[str]] = {"PASS": [], "FAIL": [], "SKIPPED": [], "UNTESTED": []}
    with tempfile.TemporaryDirectory(prefix="linuxwasm-testsuite-") as scratch:
        files = [copies.Copy(host, guest) for host, guest in busybox.testsuite_files()]
        image = copies.initramfs_with(system.build(), files, Path(scratch), frozenset(system.DIRECTORIES))
        with Machine(kernel_image, image, memory_mib=MEMORY_MIB) as machine:
            # runtest's own list of applets, less those whose tests are not run.
            applets = "busybox $(/opt/busybox/busybox --list" + "".join(f" | grep -vxF {a}" for a in skip) + ")"
            # The guest has no network card here: wget's cases that fetch
            # from the Internet skip themselves.
            result = machine.run(f"cd /opt/busybox/testsuite && SKIP_INTERNET_TESTS=1 ./runtest {applets} 2>&1",
                                 timeout=TIMEOUT)
    for line in result.stdout.splitlines():
        if match := VERDICT.match(line):
            verdicts[match[1]].append(match[2].strip())
    return verdicts


def test_busybox_testsuite(kernel_image, testsuite_summary):
    known = busybox.known_failures()
    verdicts = run_testsuite(kernel_image, sorted(known.applets))
    failed = set(verdicts["FAIL"])
    testsuite_summary.append(
        f"BusyBox testsuite: {len(verdicts['PASS'])} passed, {len(verdicts['FAIL'])} failed "
        f"({len(failed & set(known.cases))} known), "
        f"{len(verdicts['SKIPPED']) + len(verdicts['UNTESTED'])} skipped or untested"
        + (f", tests of {len(known.applets)} applet(s) not run: {', '.join(sorted(known.applets))}"
           if known.applets else ""))
    assert verdicts["PASS"], "the testsuite ran no case"
    unexpected = sorted(failed - set(known.cases))
    assert not unexpected, f"failed, not in {busybox.KNOWN_FAILURES.name}: {unexpected}"
    fixed = sorted(set(known.cases) - failed)
    assert not fixed, f"passed now: remove from {busybox.KNOWN_FAILURES.name}: {fixed}"
