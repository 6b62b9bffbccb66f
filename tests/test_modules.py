"""Loadable kernel modules (issue 16): built on the host, loaded in the guest.

BusyBox's insmod exits with the errno of the kernel's refusal.
"""

import errno
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linuxwasm import guest, modules, system
from linuxwasm.errors import LinuxWasmError
from linuxwasm.machine import Machine
from linuxwasm.paths import REPO
from linuxwasm.postlink import read_map
from linuxwasm.wasm import dylink_memory, parse_module
from tests.host_memory import rss_mib

EXAMPLES = REPO / "examples" / "modules"


# The two ways the host runs tasks: each thread's kernel instance must get
# every module where each task has a host thread of its own.
@pytest.fixture(scope="module", params=[True, False], ids=["coroutines", "threads"])
def machine(kernel_image: Path, request: pytest.FixtureRequest) -> Iterator[Machine]:
    with Machine(kernel_image, system.build(), coroutines=request.param) as m:
        yield m


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Each example module, built from a copy of its folder: name -> .ko bytes."""
    kos = {}
    for folder in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        copy = tmp_path_factory.mktemp("modules") / folder.name
        shutil.copytree(folder, copy)
        for ko in modules.build(copy):
            kos[ko.stem] = ko.read_bytes()
    return kos


def _module_source(tmp_path: Path, name: str, body: str, license: str = "GPL") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "Kbuild").write_text(f"obj-m += {name}.o\n")
    (folder / f"{name}.c").write_text(
        "#include <linux/module.h>\n#include <linux/init.h>\n" + body
        + f'\nMODULE_LICENSE("{license}");\n')
    return folder


def _dmesg_since(machine: Machine, mark: str) -> str:
    """The kernel log after the line that says mark (written with /dev/kmsg)."""
    log = machine.run("dmesg").stdout
    return log[log.rindex(mark):]


def _mark(machine: Machine, text: str) -> str:
    machine.run(f"echo {text} > /dev/kmsg")
    return text


def test_the_kernel_lists_its_modules(machine: Machine) -> None:
    r = machine.run("cat /proc/modules | wc -l; lsmod")
    assert r.exit_code == 0 and r.stderr == "", r
    assert r.stdout == "0\nModule                  Size  Used by\n", r


def test_a_file_that_is_no_module_is_refused_by_the_loader(machine: Machine) -> None:
    r = machine.run("insmod /etc/passwd")
    assert r.exit_code == errno.ENOEXEC
    assert "invalid module format" in r.stderr, r
    assert "Invalid ELF header magic" in machine.run("dmesg | tail -3").stdout
    assert machine.run("echo alive").stdout == "alive\n"


def test_hello_loads_greets_unloads_and_loads_again(machine: Machine, built: dict[str, bytes]) -> None:
    machine.write_file("/root/hello.ko", built["hello"])
    mark = _mark(machine, "test-hello-start")
    r = machine.run("insmod /root/hello.ko who=reader && lsmod && cat /proc/modules"
                    " && cat /sys/module/hello/parameters/who")
    assert r.exit_code == 0, r
    assert re.search(r"^hello\s+\d+\s+0", r.stdout, re.M), r.stdout
    assert r.stdout.endswith("reader\n"), r.stdout
    assert "hello: hello, reader" in _dmesg_since(machine, mark)

    r = machine.run("rmmod hello && lsmod")
    assert r.exit_code == 0 and "hello" not in r.stdout, r
    assert "hello: goodbye, reader" in _dmesg_since(machine, mark)

    r = machine.run("insmod /root/hello.ko && rmmod hello")
    assert r.exit_code == 0, r
    assert "hello: hello, world" in _dmesg_since(machine, mark)


def test_parameters_of_several_types(machine: Machine, built: dict[str, bytes]) -> None:
    machine.write_file("/root/params.ko", built["params"])
    mark = _mark(machine, "test-params-start")
    r = machine.run("insmod /root/params.ko count=3 loud=1 names=ann,bob,cy"
                    " && cat /sys/module/params/parameters/count /sys/module/params/parameters/names"
                    " && echo 5 > /sys/module/params/parameters/count && rmmod params")
    assert r.exit_code == 0 and r.stdout == "3\nann,bob,cy\n", r
    log = _dmesg_since(machine, mark)
    assert "params: HELLO 3 of 3" in log and "params: name 2 is cy" in log, log
    assert "params: count was 5 at the end" in log, log


def test_a_character_device_reads_writes_and_answers_ioctls(machine: Machine, built: dict[str, bytes],
                                                           tmp_path: Path) -> None:
    tool = guest.build_program(EXAMPLES / "chardev" / "chardev-ioctl.c", tmp_path / "chardev-ioctl", libc=True)
    machine.write_file("/root/chardev.ko", built["chardev"])
    machine.write_file("/root/chardev-ioctl", tool.read_bytes(), mode=0o755)
    r = machine.run("insmod /root/chardev.ko"
                    " && mknod /dev/chardev c $(awk '$2 == \"chardev\" {print $1}' /proc/devices) 0"
                    " && echo 'kept for later' > /dev/chardev && cat /dev/chardev"
                    " && /root/chardev-ioctl /dev/chardev size && /root/chardev-ioctl /dev/chardev clear"
                    " && /root/chardev-ioctl /dev/chardev size && cat /dev/chardev")
    assert r.exit_code == 0, r
    assert r.stdout == "kept for later\n15\n0\n", r
    r = machine.run("rmmod chardev; rm /dev/chardev; grep -c chardev /proc/devices")
    assert r.stdout == "0\n", r


def test_a_timer_a_work_item_and_a_kernel_thread_run_and_stop(machine: Machine, built: dict[str, bytes]) -> None:
    machine.write_file("/root/ticker.ko", built["ticker"])
    mark = _mark(machine, "test-ticker-start")
    r = machine.run("insmod /root/ticker.ko && sleep 1 && cd /sys/module/ticker/parameters"
                    " && cat timer_rounds work_rounds thread_rounds && ps -o comm | grep -c '^ticker$'")
    assert r.exit_code == 0, r
    *rounds, threads = (int(n) for n in r.stdout.split())
    assert all(n >= 5 for n in rounds), r.stdout  # each every 50 ms, for a second
    assert threads == 1
    r = machine.run("rmmod ticker && ps -o comm | grep -c '^ticker$'")
    assert r.stdout == "0\n", r
    assert re.search(r"ticker: \d+ timer, \d+ work and \d+ thread rounds", _dmesg_since(machine, mark))
    # Nothing of the module runs after it went.
    time.sleep(0.3)
    assert machine.run("echo alive").stdout == "alive\n"


def test_a_file_in_proc(machine: Machine, built: dict[str, bytes]) -> None:
    machine.write_file("/root/procfile.ko", built["procfile"])
    r = machine.run("insmod /root/procfile.ko && cat /proc/procfile /proc/procfile && rmmod procfile"
                    " && test ! -e /proc/procfile")
    assert r.exit_code == 0 and r.stdout == "read 1 times\nread 2 times\n", r


def test_a_module_uses_what_another_exports(machine: Machine, built: dict[str, bytes]) -> None:
    """tally.ko exports a function (EXPORT_SYMBOL) and, GPL-only, data and a
    function, in an order the loader's bisection cannot search unsorted."""
    machine.write_file("/root/tally.ko", built["tally"])
    machine.write_file("/root/tally_user.ko", built["tally_user"])
    mark = _mark(machine, "test-tally-start")
    r = machine.run("insmod /root/tally_user.ko")
    assert r.exit_code == errno.ENOENT and "unknown symbol" in r.stderr, r
    assert "tally_user: Unknown symbol tally_add (err -2)" in _dmesg_since(machine, mark)

    r = machine.run("insmod /root/tally.ko && insmod /root/tally_user.ko add=5 && lsmod")
    assert r.exit_code == 0, r
    assert re.search(r"^tally\s+\d+\s+1 tally_user$", r.stdout, re.M), r.stdout
    assert "tally_user: added 5, total 5" in _dmesg_since(machine, mark)
    r = machine.run("rmmod tally")
    assert r.exit_code == 1 and "tally" in machine.run("lsmod").stdout, r  # in use

    r = machine.run("rmmod tally_user && rmmod tally && lsmod")
    assert r.exit_code == 0 and "tally" not in r.stdout, r
    log = _dmesg_since(machine, mark)
    assert "tally_user: took 5 back, total 0 (tally_total says 0)" in log, log
    assert "tally: gone, total was 0" in log, log
    r = machine.run("insmod /root/tally.ko && insmod /root/tally_user.ko && rmmod tally_user && rmmod tally")
    assert r.exit_code == 0, r


def _kernel_free_kib(machine: Machine) -> int:
    return int(machine.run("awk '/^MemAvailable/ {print $2}' /proc/meminfo").stdout)


def test_a_thousand_loads_and_unloads_leave_no_memory_behind(machine: Machine, built: dict[str, bytes],
                                                            request: pytest.FixtureRequest) -> None:
    machine.write_file("/root/hello.ko", built["hello"])
    cycles = "for i in $(seq {n}); do insmod /root/hello.ko && rmmod hello || exit 1; done"
    # The warm-up lets the host's heap reach its size: V8 grows it for the
    # first few hundred compiled modules (about 40 MiB), then collects them.
    assert machine.run(cycles.format(n=200), timeout=120).exit_code == 0
    before, host_before = _kernel_free_kib(machine), rss_mib(machine.pid)
    assert machine.run(cycles.format(n=1000), timeout=300).exit_code == 0
    after, host_after = _kernel_free_kib(machine), rss_mib(machine.pid)
    print(f"1000 cycles: kernel MemAvailable {before} -> {after} KiB, host RSS {host_before:.0f} -> {host_after:.0f} MiB")
    assert before - after < 512, (before, after)  # KiB; one hello takes about 16 in all
    # V8's heap moves by up to 30 MiB over these 1000 loads, and by up to 60
    # with a host thread per task (each insmod and rmmod is a process, whose
    # thread's heap the engine gives back at its own pace): what the host
    # would keep of 100 KiB or more per load shows (a copy of the kernel's
    # table or of the module's data, a thread kept per load); an instance kept
    # (35 KiB with its compiled code) would not: that needs the engine's own figures.
    bound = 48 if request.node.callspec.params["machine"] else 96
    assert host_after - host_before < bound, f"host RSS {host_before:.0f} -> {host_after:.0f} MiB"
    assert "hello" not in machine.run("lsmod").stdout


def test_modinfo_reads_what_the_module_says(machine: Machine, built: dict[str, bytes]) -> None:
    machine.write_file("/root/hello.ko", built["hello"])
    r = machine.run("modinfo /root/hello.ko")
    assert r.exit_code == 0, r
    info = r.stdout
    assert re.search(r"^license:\s+GPL$", info, re.M), info
    assert re.search(r"^description:\s+Says hello and goodbye$", info, re.M), info
    assert re.search(r"^vermagic:\s+6\.1\.\d+ mod_unload", info, re.M), info
    assert re.search(r"^parm:\s+who:whom to greet", info, re.M), info
    keys = re.findall(r"^(\w+):", info, re.M)
    assert len(keys) == len(set(keys)), keys  # each once


def test_a_module_of_several_sources_with_a_classic_makefile(machine: Machine, tmp_path: Path) -> None:
    folder = tmp_path / "multi"
    folder.mkdir()
    # The usual out-of-tree Makefile: kbuild reads its obj-m; make alone would use the rest.
    (folder / "Makefile").write_text("obj-m += multi.o\nmulti-y := main.o helper.o\n\n"
                                     "all:\n\tmake -C /lib/modules/$(shell uname -r)/build M=$(PWD) modules\n")
    (folder / "main.c").write_text(
        "#include <linux/module.h>\n#include <linux/init.h>\nint helper_value(void);\n"
        'static int __init multi_init(void) { pr_info("multi: %d\\n", helper_value()); return 0; }\n'
        'module_init(multi_init);\nMODULE_LICENSE("GPL");\n')
    (folder / "helper.c").write_text("int helper_value(void) { return 42; }\n")
    (ko,) = modules.build(folder)
    machine.write_file("/root/multi.ko", ko.read_bytes())
    mark = _mark(machine, "test-multi-start")
    r = machine.run("insmod /root/multi.ko && lsmod")
    assert r.exit_code == 0 and "multi" in r.stdout, r
    assert "multi: 42" in _dmesg_since(machine, mark)
    # Every source's module information is kept, once.
    keys = re.findall(r"^(\w+):", machine.run("modinfo /root/multi.ko").stdout, re.M)
    assert "license" in keys and "vermagic" in keys and len(keys) == len(set(keys)), keys


def test_a_module_needing_an_unexported_symbol_is_refused(machine: Machine, tmp_path: Path) -> None:
    folder = _module_source(tmp_path, "needy", """
extern void linuxwasm_not_exported(void);
static int __init needy_init(void) { linuxwasm_not_exported(); return 0; }
module_init(needy_init);
""")
    (ko,) = modules.build(folder)
    machine.write_file("/root/needy.ko", ko.read_bytes())
    mark = _mark(machine, "test-needy-start")
    r = machine.run("insmod /root/needy.ko")
    assert r.exit_code == errno.ENOENT and "unknown symbol" in r.stderr.lower(), r
    assert "needy: Unknown symbol linuxwasm_not_exported" in _dmesg_since(machine, mark)
    assert "needy" not in machine.run("lsmod").stdout


def test_a_module_for_another_kernel_is_refused_by_vermagic(machine: Machine, built: dict[str, bytes]) -> None:
    release = re.search(rb"vermagic=(6\.1\.\d+) ", built["hello"]).group(1)
    other = built["hello"].replace(b"vermagic=" + release, b"vermagic=" + b"6.0.0".ljust(len(release), b"0"))
    machine.write_file("/root/other.ko", other)
    mark = _mark(machine, "test-vermagic-start")
    r = machine.run("insmod /root/other.ko")
    assert r.exit_code == errno.ENOEXEC and "invalid module format" in r.stderr, r
    assert "hello: version magic '6.0.0" in _dmesg_since(machine, mark)
    assert machine.run("echo alive").stdout == "alive\n"


def test_a_truncated_module_is_refused(machine: Machine, built: dict[str, bytes]) -> None:
    machine.write_file("/root/short.ko", built["hello"][: len(built["hello"]) // 2])
    r = machine.run("insmod /root/short.ko")
    assert r.exit_code == errno.ENOEXEC and "invalid module format" in r.stderr, r
    assert machine.run("echo alive").stdout == "alive\n"


def test_a_module_whose_code_is_not_wasm_is_refused(machine: Machine, built: dict[str, bytes]) -> None:
    ko = built["hello"]
    code = ko.index(b"\0asm\x01\0\0\0")
    broken = ko[:code] + b"\0bad" + ko[code + 4:]
    machine.write_file("/root/broken.ko", broken)
    mark = _mark(machine, "test-broken-start")
    r = machine.run("insmod /root/broken.ko")
    assert r.exit_code == errno.ENOEXEC and "invalid module format" in r.stderr, r
    assert "hello: CompileError" in _dmesg_since(machine, mark)
    assert "hello" not in machine.run("lsmod").stdout
    assert machine.run("echo alive").stdout == "alive\n"


def test_a_module_with_code_the_host_cannot_check_is_refused(machine: Machine, tmp_path: Path) -> None:
    """Valid Wasm that the NULL-check rewrite does not know (here a SIMD instruction) is
    refused with the reason, not loaded unchecked, and the host goes on."""
    folder = _module_source(tmp_path, "vector", """
static int __init vector_init(void)
{
	__asm__ volatile("v128.const 0, 0, 0, 0\\n\\tdrop");
	return 0;
}
module_init(vector_init);
""")
    (folder / "Kbuild").write_text("obj-m += vector.o\nccflags-y += -msimd128\n")
    [ko] = modules.build(folder)
    machine.write_file("/root/vector.ko", ko.read_bytes())
    mark = _mark(machine, "test-vector-start")
    r = machine.run("insmod /root/vector.ko")
    assert r.exit_code == errno.ENOEXEC and "invalid module format" in r.stderr, r
    assert "vector: its code cannot be given NULL checks: unknown instruction 0xfd" in _dmesg_since(machine, mark)
    assert "vector" not in machine.run("lsmod").stdout
    assert machine.run("echo alive").stdout == "alive\n"


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def test_a_module_asking_for_a_huge_table_is_refused(machine: Machine, tmp_path: Path) -> None:
    """A hostile dylink.0 must not make the host grow the kernel's table (host memory)."""
    folder = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", folder)
    (ko,) = modules.build(folder)
    side = (folder / "hello.ko.wasm").read_bytes()
    module = parse_module(side)
    memory = dylink_memory(module)
    dylink = next(s for s in module.sections if s.id == 0 and s.name == "dylink.0")
    info = b"".join(_leb(v) for v in (memory.size, memory.align.bit_length() - 1, 50_000_000, 0))
    payload = _leb(len(b"dylink.0")) + b"dylink.0" + b"\x01" + _leb(len(info)) + info
    hostile = side[:dylink.begin] + b"\x00" + _leb(len(payload)) + payload + side[dylink.offset + dylink.size:]
    machine.write_file("/root/huge.ko", modules.wrap(hostile, read_map(folder / "hello.ko.map")))
    mark = _mark(machine, "test-huge-start")
    r = machine.run("insmod /root/huge.ko")
    assert r.exit_code == errno.ENOEXEC and "invalid module format" in r.stderr, r
    assert "hello: it asks for 50000000 table slots" in _dmesg_since(machine, mark)
    assert machine.run("echo alive").stdout == "alive\n"


def test_a_module_that_is_not_gpl_taints_the_kernel(machine: Machine, tmp_path: Path) -> None:
    folder = _module_source(tmp_path, "closed", """
static int __init closed_init(void) { return 0; }
static void __exit closed_exit(void) { }
module_init(closed_init);
module_exit(closed_exit);
""", license="Proprietary")
    (ko,) = modules.build(folder)
    machine.write_file("/root/closed.ko", ko.read_bytes())
    mark = _mark(machine, "test-closed-start")
    r = machine.run("insmod /root/closed.ko && cat /proc/sys/kernel/tainted && rmmod closed")
    assert r.exit_code == 0, r
    assert int(r.stdout.split()[0]) & 1, r.stdout  # TAINT_PROPRIETARY_MODULE
    assert "closed: module license 'Proprietary' taints kernel." in _dmesg_since(machine, mark)


def test_a_compile_error_names_the_file_and_line(tmp_path: Path) -> None:
    folder = _module_source(tmp_path, "typo", "static int __init typo_init(void) { return nope; }\n")
    with pytest.raises(LinuxWasmError, match=r"typo\.c:3:\d+: error: use of undeclared identifier 'nope'"):
        modules.build(folder)


def test_a_folder_without_kbuild_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LinuxWasmError, match="no Kbuild or Makefile"):
        modules.build(tmp_path)


@pytest.mark.skipif(shutil.which("readelf") is None, reason="binutils' readelf, the ELF reference, is not installed")
def test_readelf_reads_the_ko_as_the_loader_expects(built: dict[str, bytes], tmp_path: Path) -> None:
    ko = tmp_path / "hello.ko"
    ko.write_bytes(built["hello"])
    r = subprocess.run(["readelf", "-W", "-h", "-S", "-s", str(ko)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert re.search(r"Type:\s+REL \(Relocatable file\)", r.stdout)
    assert re.search(r"Machine:\s+Web Assembly", r.stdout)
    sections = {m[1]: m[2] for m in re.finditer(r"\]\s(\S+)\s+(\w+)\s", r.stdout)}
    assert sections[".gnu.linkonce.this_module"] == "PROGBITS"
    assert sections["__param"] == "PROGBITS" and sections[".modinfo"] == "PROGBITS"
    assert sections[".wasm"] == "PROGBITS" and sections[".symtab"] == "SYMTAB"
    undefined = set(re.findall(r"GLOBAL DEFAULT\s+UND (\S+)", r.stdout))
    assert undefined == {"_printk", "param_ops_charp"}, undefined


# A machine of its own for each oops: the kernel is tainted from then on, and a
# module that died inside a write of its /proc file stays loaded (as on Linux).
@pytest.fixture(params=[True, False], ids=["coroutines", "threads"])
def oops_machine(kernel_image: Path, built: dict[str, bytes], request: pytest.FixtureRequest) -> Iterator[Machine]:
    with Machine(kernel_image, system.build(), coroutines=request.param) as m:
        m.write_file("/root/faulty.ko", built["faulty"])
        assert m.run("insmod /root/faulty.ko").exit_code == 0
        yield m


def _oops(machine: Machine, bug: str) -> tuple[str, str]:
    """Write bug to /proc/faulty from a shell of its own: its stderr, and the oops."""
    mark = _mark(machine, f"test-oops-{bug}")
    r = machine.run(f"sh -c 'echo {bug} > /proc/faulty'; echo $?")
    return r.stdout + r.stderr, _dmesg_since(machine, mark)


def test_a_null_dereference_in_a_module_is_an_oops_that_kills_the_task(oops_machine: Machine) -> None:
    shell, log = _oops(oops_machine, "null")
    assert "139" in shell and "Segmentation fault" in shell, shell
    assert "BUG: kernel NULL pointer dereference, address: 00000000" in log, log
    assert "Oops: NULL pointer dereference [#1]" in log
    assert "Modules linked in: faulty(O)" in log
    assert re.search(r"Comm: sh Tainted: G +O ", log), log  # D comes after the first oops
    assert re.search(r"^\[[ .0-9]+\]  faulty_null_write\+0x[0-9a-f]+/0x[0-9a-f]+ \[faulty\]$", log, re.M), log
    assert re.search(r"^\[[ .0-9]+\]  faulty_write\+0x[0-9a-f]+/0x[0-9a-f]+ \[faulty\]$", log, re.M), log
    assert "end trace" in log
    assert int(oops_machine.run("cat /proc/sys/kernel/tainted").stdout) & 128  # TAINT_DIE
    assert oops_machine.run("echo alive").stdout == "alive\n"


def test_bug_in_a_module_is_an_oops_and_the_kernel_goes_on(oops_machine: Machine) -> None:
    shell, log = _oops(oops_machine, "bug")
    assert "139" in shell, shell
    assert re.search(r"kernel BUG at \S+/faulty\.c:\d+!", log), log
    assert "Oops: unreachable [#1]" in log
    assert re.search(r"faulty_bug\+0x[0-9a-f]+/0x[0-9a-f]+ \[faulty\]", log), log
    # A second oops is counted, and the system still runs programs.
    _, again = _oops(oops_machine, "null")
    assert "Oops: NULL pointer dereference [#2]" in again, again
    assert oops_machine.run("ls /proc/faulty && echo alive").stdout == "/proc/faulty\nalive\n"


def test_an_oops_in_a_kernel_thread_kills_the_thread_only(oops_machine: Machine) -> None:
    mark = _mark(oops_machine, "test-oops-thread")
    r = oops_machine.run("echo thread > /proc/faulty && echo written")
    assert r.stdout == "written\n", r
    deadline = time.monotonic() + 10
    while "end trace" not in (log := _dmesg_since(oops_machine, mark)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Comm: faulty" in log and re.search(r"faulty_thread\+0x[0-9a-f]+/0x[0-9a-f]+ \[faulty\]", log), log
    assert "faulty" not in oops_machine.run("ps -o comm").stdout.split()
    # Nothing of the module is in use: it goes, and comes back.
    r = oops_machine.run("rmmod faulty && insmod /root/faulty.ko && lsmod")
    assert r.exit_code == 0 and r.stdout.split("\n")[1].startswith("faulty "), r
