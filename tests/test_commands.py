"""Build commands and their progress: a failure names its cause in one line."""

import pytest

from linuxwasm import commands, progress
from linuxwasm.errors import LinuxWasmError


def test_cause_is_the_missing_command_not_a_file_named_error() -> None:
    # What the kernel's headers_install printed on a machine without rsync.
    output = ["  HDRINST usr/include/linux/can/error.h\n", "  HDRINST usr/include/linux/errqueue.h\n",
              "/bin/sh: 1: rsync: not found\n",
              "make[1]: *** [Makefile:1281: headers_install] Error 127\n",
              "make: *** [Makefile:222: __sub-make] Error 2\n"]
    assert commands.cause(output) == "/bin/sh: 1: rsync: not found"


def test_cause_is_tars_child_not_its_summary() -> None:
    output = ["tar (child): bzip2: Cannot exec: No such file or directory\n",
              "tar (child): Error is not recoverable: exiting now\n",
              "tar: Child returned status 2\n", "tar: Error is not recoverable: exiting now\n"]
    assert commands.cause(output) == "tar (child): bzip2: Cannot exec: No such file or directory"


def test_cause_prefers_the_compilers_error_to_makes() -> None:
    output = ["  CC      fs/open.o\n", "fs/open.c:12:1: error: unknown type name 'x'\n",
              "make[2]: *** [scripts/Makefile.build:250: fs/open.o] Error 1\n"]
    assert commands.cause(output) == "fs/open.c:12:1: error: unknown type name 'x'"
    assert commands.cause(["one\n", "last words\n", "\n"]) == "last words"


def test_a_failing_command_is_one_line_with_the_cause(tmp_path) -> None:
    with pytest.raises(LinuxWasmError) as failure:
        commands.run(["sh", "-c", "echo HDRINST error.h; no-such-tool-here; exit 3"], what="step",
                     log=tmp_path / "log", report=lambda line: None)
    message = str(failure.value)
    assert message.startswith("step failed: sh: 1: no-such-tool-here: not found;")
    assert "\n" not in message


def test_a_missing_program_is_one_line(tmp_path) -> None:
    with pytest.raises(LinuxWasmError, match="^step failed: cannot run /no/such/program: No such file"):
        commands.run(["/no/such/program"], what="step", log=tmp_path / "log", report=lambda line: None)


def test_a_stage_in_a_log_prints_a_line_when_it_starts_each_period_and_at_the_end(capsys) -> None:
    import time

    with progress.stage("building the thing", interactive=False, every=0.2) as report:
        report("CC one.o")
        time.sleep(0.5)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "building the thing ..."
    assert lines[1] == "building the thing: 0 min: CC one.o"
    assert lines[-1].startswith("building the thing: done in ")
    assert 3 <= len(lines) <= 5


def test_a_stage_with_nothing_to_do_prints_nothing(capsys) -> None:
    with progress.stage("building the thing", interactive=False, every=10):
        pass
    assert capsys.readouterr().err == ""


def test_a_busybox_setting_that_oldconfig_overrode_is_an_error(tmp_path) -> None:
    from linuxwasm import busybox

    config = tmp_path / ".config"
    config.write_text("CONFIG_DPKG=y\nCONFIG_FEATURE_SEAMLESS_GZ=y\nCONFIG_TAR=y\n")
    busybox._check_settings(config, ["CONFIG_TAR=y"])
    with pytest.raises(LinuxWasmError, match="'# CONFIG_FEATURE_SEAMLESS_GZ is not set' did not hold: "
                       "oldconfig made it 'CONFIG_FEATURE_SEAMLESS_GZ=y'"):
        busybox._check_settings(config, ["# CONFIG_FEATURE_SEAMLESS_GZ is not set"])
