"""The command line: errors are one line and a non-zero status."""

import json
import re
import socket
import time
from pathlib import Path

import pytest

from linuxwasm import cli


def test_unknown_flag_is_a_usage_error(capsys):
    try:
        cli.main(["run", "--no-such-flag"])
    except SystemExit as e:
        assert e.code == 2
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err


def test_missing_kernel_file_names_it(tmp_path, capsys):
    missing = tmp_path / "vmlinux.wasm"
    assert cli.main(["run", "--kernel", str(missing)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"linuxwasm: {missing}: cannot read")
    assert "\n" not in err


def test_no_command_is_a_usage_error(capsys):
    try:
        cli.main([])
    except SystemExit as e:
        assert e.code == 2
    assert "usage: linuxwasm" in capsys.readouterr().err


def _run_c(*args: str, timeout: float = 120):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "linuxwasm.cli", "run", *args],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_run_c_prints_streams_apart_and_exits_with_the_status(kernel_image):
    r = _run_c("-c", "ls -l /proc/self/ | grep -c exe; echo to-err >&2; exit 7")
    assert (r.returncode, r.stdout, r.stderr) == (7, "1\n", "to-err\n")


def test_run_c_copies_files_in_and_out(tmp_path, kernel_image):
    source = tmp_path / "in.txt"
    source.write_text("some text\n")
    source.chmod(0o640)
    result = tmp_path / "out.txt"
    r = _run_c("--copy-in", f"{source}:/root/new/in.txt", "--copy-out", f"/tmp/out.txt:{result}",
               "-c", "stat -c %a /root/new/in.txt; stat -c %a /tmp; tr a-z A-Z < /root/new/in.txt > /tmp/out.txt")
    assert (r.returncode, r.stdout, r.stderr) == (0, "640\n1777\n", "")
    assert result.read_text() == "SOME TEXT\n"


def test_run_c_timeout_is_124(kernel_image):
    r = _run_c("--timeout", "1", "-c", "echo started; sleep 30")
    assert r.returncode == 124
    assert r.stdout == "started\n"
    assert r.stderr.strip() == "linuxwasm: command timed out after 1 s: echo started; sleep 30"


def test_run_c_copy_errors_are_one_line(tmp_path, kernel_image, capsys):
    assert cli.main(["run", "--copy-in", f"{tmp_path}/nothing:/x", "-c", "true"]) == 1
    assert capsys.readouterr().err.strip() == \
        f"linuxwasm: --copy-in {tmp_path}/nothing:/x: {tmp_path}/nothing is not a file or a folder"
    assert cli.main(["run", "--copy-out", "relative:/tmp/x", "-c", "true"]) == 1
    assert "the guest path must be absolute" in capsys.readouterr().err
    r = _run_c("--copy-out", f"/nonexistent:{tmp_path}/y", "-c", "true")
    assert r.returncode == 1
    assert r.stderr.strip() == "linuxwasm: --copy-out /nonexistent: /nonexistent: No such file or directory"


def test_export_writes_a_site_and_refuses_a_foreign_folder(tmp_path, kernel_image, capsys):
    target = tmp_path / "site"
    assert cli.main(["export", str(target)]) == 0
    manifest = json.loads((target / "site.json").read_text())
    assert (target / manifest["kernel"]["path"]).stat().st_size == manifest["kernel"]["size"]
    assets = (target / manifest["kernel"]["path"]).parent
    assert (assets / "vendor" / "xterm.js").is_file()
    assert f'src="{assets.relative_to(target)}/page.js"' in (target / "index.html").read_text()
    (target / "v" / "stale").mkdir()
    assert cli.main(["export", str(target)]) == 0  # an earlier export is rewritten
    assert sorted(p.name for p in (target / "v").iterdir()) == [assets.name]

    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("keep me")
    capsys.readouterr()
    assert cli.main(["export", str(foreign)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("linuxwasm: ") and "not writing into it" in error and "\n" not in error
    assert sorted(p.name for p in foreign.iterdir()) == ["thesis.txt"]


def test_serve_on_a_busy_port_is_one_line(kernel_image, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        capsys.readouterr()
        assert cli.main(["serve", "--port", str(port)]) == 1
    assert capsys.readouterr().err.strip().endswith(f"cannot listen on 127.0.0.1:{port}: Address already in use")


def _linuxwasm(*args: str, input: bytes | None = None, stdin=None, timeout: float = 120):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "linuxwasm.cli", *args], input=input, stdin=stdin,
                          capture_output=True, timeout=timeout)


def test_host_stdin_reaches_the_command(kernel_image):
    r = _linuxwasm("run", "-c", "cat; echo status $?", input=b"hi\n")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"hi\nstatus 0\n", b"")


def test_commands_from_a_pipe_run_and_end(kernel_image):
    r = _linuxwasm("run", input=b"echo hi\nexit 3\n")
    assert (r.returncode, r.stdout) == (3, b"hi\n")
    import subprocess

    r = _linuxwasm("run", stdin=subprocess.DEVNULL, timeout=60)
    assert (r.returncode, r.stdout) == (0, b"")


def test_copy_in_to_tmp_and_of_a_folder(tmp_path, kernel_image):
    (tmp_path / "f.txt").write_text("into tmp\n")
    folder = tmp_path / "project"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "main.c").write_text("int main;\n")
    (folder / "link").symlink_to("src/main.c")
    r = _run_c("--copy-in", f"{tmp_path / 'f.txt'}:/tmp/f.txt", "--copy-in", f"{folder}:/root/project",
               "-c", "cat /tmp/f.txt; stat -c %a /tmp; cat /root/project/src/main.c; readlink /root/project/link")
    assert (r.returncode, r.stdout, r.stderr) == (0, "into tmp\n1777\nint main;\nsrc/main.c\n", "")
    r = _run_c("--copy-in", f"{tmp_path / 'f.txt'}:/proc/f.txt", "-c", "true")
    assert r.returncode == 1 and "cannot copy into /proc/f.txt" in r.stderr


def test_cmdline_reaches_the_kernel_with_a_command(kernel_image):
    r = _run_c("--cmdline", "lesson=one", "-c", "cat /proc/cmdline")
    assert r.returncode == 0 and " lesson=one" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["run", "--memory", "0", "-c", "true"], "linuxwasm: memory 0 MiB: must be 32 to 1024 MiB"),
    (["run", "--memory", "2048", "-c", "true"], "linuxwasm: memory 2048 MiB: must be 32 to 1024 MiB"),
    (["run", "--memory", "-5", "-c", "true"], "linuxwasm: memory -5 MiB: must be 32 to 1024 MiB"),
    (["run", "--timeout", "-1", "-c", "true"], "linuxwasm: --timeout -1: must not be negative"),
])
def test_bad_numbers_are_one_line(args, message, capsys):
    assert cli.main(args) == 1
    assert capsys.readouterr().err.strip() == message


def test_usage_errors_are_the_subcommands(capsys):
    for args, usage, message in ((["run", "--bogus"], "usage: linuxwasm run", "unrecognized arguments: --bogus"),
                                 (["serve", "--port", "99999"], "usage: linuxwasm serve",
                                  "99999: not a TCP port (0 to 65535)")):
        with pytest.raises(SystemExit) as stop:
            cli.main(args)
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(usage) and message in err and "Traceback" not in err


def test_version_and_descriptions(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert re.fullmatch(r"linuxwasm \d+\.\d+\.\d+\n", capsys.readouterr().out)
    for command in ("build", "bench"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        assert "minutes" in capsys.readouterr().out


def test_a_closed_pipe_ends_the_command_quietly(kernel_image):
    import subprocess
    import sys

    started = time.monotonic()
    with subprocess.Popen([sys.executable, "-m", "linuxwasm.cli", "run", "-c", "yes"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) as proc:
        assert proc.stdout.read(4) == b"y\ny\n"
        proc.stdout.close()
        assert proc.wait(60) == 141  # 128 + SIGPIPE, as a shell reports it
        assert b"Traceback" not in proc.stderr.read()
    assert time.monotonic() - started < 30


def test_sigterm_stops_the_machine_too(kernel_image):
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "linuxwasm.cli", "run", "-c", "echo up; sleep 60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stdout.readline() == b"up\n"
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert children  # the node process that runs the machine
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 128 + signal.SIGTERM
    assert b"Traceback" not in proc.stderr.read()
    for pid in children:
        deadline = time.monotonic() + 15
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{pid}").exists(), "the machine outlived linuxwasm run"


def test_the_guest_has_the_hosts_time_zone(kernel_image):
    import os
    import subprocess
    import sys

    for zone, abbreviations in (("Asia/Tokyo", {"JST"}), ("America/New_York", {"EST", "EDT"})):
        r = subprocess.run([sys.executable, "-m", "linuxwasm.cli", "run", "-c", "date +%Z; readlink /etc/localtime"],
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                           env=os.environ | {"TZ": zone})
        name, link = r.stdout.split()
        assert r.returncode == 0 and name in abbreviations and link == f"/usr/share/zoneinfo/{zone}", r
