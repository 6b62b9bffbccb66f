"""The command line: errors are one line and a non-zero status."""

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
