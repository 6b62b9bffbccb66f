"""Build BusyBox for wasm32 against our musl: build/busybox.wasm.

The configuration is BusyBox's defconfig with packages/busybox/config on
top, minus the applets packages/busybox/disabled-applets names. The build
checks that list against what is really left out (Kconfig also drops
applets that need an MMU), so it cannot fall out of date: an applet that
disappears from the build without a reason there stops the build.
"""

import os
import re
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from linuxwasm import artifacts, commands, forkable, musl, recipes, sources, toolchain
from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import BUILD, PACKAGES

BUSYBOX_WASM = BUILD / "busybox.wasm"
# Where each applet is installed, one path per line (/bin/ls, /usr/bin/seq, ...).
BUSYBOX_LINKS = BUILD / "busybox.links"
# BusyBox's testsuite/ and the .config it reads, as built.
TESTSUITE = BUILD / "busybox-testsuite"
CONFIG = PACKAGES / "busybox" / "config"
DISABLED = PACKAGES / "busybox" / "disabled-applets"
KNOWN_FAILURES = PACKAGES / "busybox" / "testsuite-known-failures"

_SETTING = re.compile(r"^(?:(CONFIG_\w+)=.*|# (CONFIG_\w+) is not set)$")


def testsuite_files() -> list[tuple[Path, str]]:
    """BusyBox's testsuite as (host file, guest path): runtest runs in
    /opt/busybox/testsuite and looks for busybox and .config one folder up."""
    files = [(path, "/opt/busybox/" + path.relative_to(TESTSUITE).as_posix())
             for path in sorted(TESTSUITE.rglob("*")) if path.is_file()]
    return files + [(BUSYBOX_WASM, "/opt/busybox/busybox")]


@dataclass(frozen=True)
class KnownFailures:
    """packages/busybox/testsuite-known-failures: cases that fail here, and
    applets whose tests are not run at all, each with its reason."""

    cases: dict[str, str]
    applets: dict[str, str]


def known_failures(path: Path = KNOWN_FAILURES) -> KnownFailures:
    """Read "case name -- reason" and "applet NAME -- reason" lines."""
    known = KnownFailures({}, {})
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, reason = line.partition(" -- ")
        if not sep or not reason.strip():
            raise LinuxWasmError(f"{path}:{number}: expected 'case name -- reason'")
        if name.startswith("applet "):
            known.applets[name.removeprefix("applet ").strip()] = reason.strip()
        else:
            known.cases[name.strip()] = reason.strip()
    return known


def disabled_applets(path: Path = DISABLED) -> dict[str, str]:
    """The applets left out, each with its reason ("name  reason" lines)."""
    applets = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            raise LinuxWasmError(f"{path}:{number}: applet {name} has no reason")
        applets[name] = reason.strip()
    return applets


def _applet_symbol(name: str) -> str:
    return "CONFIG_" + name.upper().replace("-", "_")


def _apply_settings(config: Path, settings: list[str]) -> None:
    """Set each "CONFIG_X=..." or "# CONFIG_X is not set" line in a .config."""
    wanted = {}
    for line in settings:
        match = _SETTING.match(line)
        if match:
            wanted[match[1] or match[2]] = line
    kept = [line for line in config.read_text().splitlines()
            if not ((m := _SETTING.match(line)) and (m[1] or m[2]) in wanted)]
    config.write_text("\n".join(kept + list(wanted.values())) + "\n")


def _check_settings(config: Path, settings: list[str]) -> None:
    """Every setting asked for holds after oldconfig: Kconfig's select overrides
    "is not set" without a word (dpkg selects FEATURE_SEAMLESS_GZ)."""
    have = {}
    for line in config.read_text().splitlines():
        if match := _SETTING.match(line):
            have[match[1] or match[2]] = line
    for line in settings:
        if (match := _SETTING.match(line)) and have.get(match[1] or match[2], "") != line:
            symbol = match[1] or match[2]
            now = have.get(symbol, f"# {symbol} is not set")
            raise LinuxWasmError(f"{CONFIG}: '{line}' did not hold: oldconfig made it '{now}' "
                                 "(another option selects it or it depends on one that is off)")


def _applets(links: Path) -> set[str]:
    return {Path(line).name for line in links.read_text().split()}


def _check_disabled(default: set[str], built: set[str], disabled: dict[str, str]) -> None:
    unexplained = sorted(default - built - set(disabled))
    if unexplained:
        raise LinuxWasmError(f"BusyBox applets left out with no reason in {DISABLED}: "
                             f"{', '.join(unexplained)}")
    still_built = sorted(set(disabled) & built)
    if still_built:
        raise LinuxWasmError(f"{DISABLED} lists applets that are built: {', '.join(still_built)}")


def _configure(run: Callable[..., None], tree: Path) -> None:
    """defconfig, our settings, the disabled applets; checks the list."""
    run("defconfig", what="BusyBox defconfig")
    (tree / "busybox.links").unlink(missing_ok=True)
    run("busybox.links", what="BusyBox applets of defconfig")
    default = _applets(tree / "busybox.links")
    disabled = disabled_applets()
    settings = CONFIG.read_text().splitlines() + [f"# {_applet_symbol(a)} is not set" for a in disabled]
    _apply_settings(tree / ".config", settings)
    run("oldconfig", what="BusyBox config")
    _check_settings(tree / ".config", settings)
    (tree / "busybox.links").unlink(missing_ok=True)
    run("busybox.links", what="BusyBox applets")
    _check_disabled(default, _applets(tree / "busybox.links"), disabled)
    # The objects depend on the configuration: build from clean (ccache
    # keeps that cheap).
    run("clean", what="BusyBox clean")


def _prepare(recipe: recipes.Recipe, work: Path, report: commands.Report,
             make: list[str]) -> tuple[Path, Callable[..., None]]:
    """The source tree in work/src, and a function that runs make there."""
    tree, log = work / "src", work / "build.log"
    # Debian's BusyBox source is a .tar.bz2; its configuration tools are
    # built with the host's gcc.
    for tool in ("bzip2", "gcc"):
        toolchain.require(tool)
    work.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    report(f"preparing {tree}")
    sources.prepare_tree(recipe, tree)
    env = toolchain.build_env()

    def run(*args: str, what: str) -> None:
        commands.run([*make, *args], what=what, log=log, report=report, cwd=tree, env=env)
    return tree, run


def source_tarball() -> Path:
    """BusyBox's source tarball as Debian has it (downloaded once, checked)."""
    recipe = recipes.load("busybox")
    return sources.fetch(recipe.source.url, recipe.source.sha256)


def build(report: commands.Report = lambda line: None) -> Path:
    """Build BusyBox if any input changed; return build/busybox.wasm."""
    compiler = musl.build(report)
    recipe = recipes.load("busybox")
    name = f"busybox-{artifacts.key(recipe, [Path(__file__), CONFIG, DISABLED, musl.SYSROOT_STAMP, *forkable.INPUTS])}.tar"
    artifact = artifacts.path(name)
    if not artifact.exists():
        work = BUILD / "busybox"
        tree, run = _prepare(recipe, work, report, ["make", f"CC={compiler}", f"AR={toolchain.LLVM_AR}",
                                                    "HOSTCC=gcc", "SKIP_STRIP=y"])
        _configure(run, tree)
        run(f"-j{os.cpu_count() or 1}", "busybox", what="BusyBox build")
        run("busybox.links", what="BusyBox applets")
        with tarfile.open(work / name, "w") as tar:
            tar.add(tree / "busybox", arcname="busybox.wasm")
            tar.add(tree / "busybox.links", arcname="busybox.links")
            # BusyBox's own tests, run in the guest (tests/test_busybox_testsuite.py).
            tar.add(tree / "testsuite", arcname=f"{TESTSUITE.name}/testsuite")
            tar.add(tree / ".config", arcname=f"{TESTSUITE.name}/.config")
        artifacts.store(work / name, name)

    stamp = BUILD / ".busybox-artifact"
    if not stamp.exists() or stamp.read_text() != name or not BUSYBOX_WASM.exists():
        shutil.rmtree(TESTSUITE, ignore_errors=True)
        sources.unpack(artifact, BUILD)
        stamp.write_text(name)
    return BUSYBOX_WASM


def build_native(report: commands.Report = lambda line: None) -> Path:
    """The same BusyBox, same configuration, built for this machine with
    gcc: what `linuxwasm bench` compares the guest's shell against."""
    recipe = recipes.load("busybox")
    name = f"busybox-native-{artifacts.key(recipe, [Path(__file__), CONFIG, DISABLED])}"
    artifact = artifacts.path(name)
    if not artifact.exists():
        tree, run = _prepare(recipe, BUILD / "busybox-native", report,
                             ["make", "CC=gcc", "HOSTCC=gcc", "SKIP_STRIP=y"])
        _configure(run, tree)
        run(f"-j{os.cpu_count() or 1}", "busybox", what="native BusyBox build")
        artifacts.store(tree / "busybox", name).chmod(0o755)
    return artifact
