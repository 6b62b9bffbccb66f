"""The command line: errors are one line and a non-zero status."""

import json
import socket

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
    assert capsys.readouterr().err.strip() == f"linuxwasm: --copy-in {tmp_path}/nothing:/x: {tmp_path}/nothing is not a file"
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
