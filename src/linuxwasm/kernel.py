"""Build vmlinux.wasm: prepare the tree, make the objects, link, check.

Stages: the pristine source with our patches (sources.prepare_tree), our
arch/wasm overlay copied over it (only changed files, so make's time stamps
drive incremental builds), `make vmlinux-objects` out of tree with ccache,
the wasm-ld link, and the post-link check of the section tables. The
finished image is stored in the artifact cache under a key made of every
input, so an unchanged tree is not even looked at again.
"""

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from linuxwasm import artifacts, commands, postlink, recipes, sources, toolchain
from linuxwasm.errors import LinuxWasmError
from linuxwasm.paths import BUILD, KERNEL_WASM
from linuxwasm.wasm import parse_module

# Kernel memory: imported, shared by all task threads, at most 1 GiB.
MAX_MEMORY = 1 << 30

LINK_FLAGS = (
    "--no-entry",
    "--shared-memory",
    "--import-memory",
    f"--max-memory={MAX_MEMORY}",
    # The first page stays unused: a NULL pointer points at nothing.
    "--global-base=4096",
    # The linker's stack only carries the boot until it moves to init_task's.
    "-z", "stack-size=4096",
    # The host puts the kernel's C stack back after an exception unwinds it.
    "--export=__stack_pointer",
    # Function "addresses" are table indices. The kernel takes any value
    # below 4096 for an offset, not a function (kvfree_rcu() passes
    # offsetof(type, rcu) where RCU expects a callback): keep them above.
    "--table-base=4096",
    # Modules' functions join the kernel's in its table, and their inlined
    # `current` reads the kernel's global (runtime/modules.js).
    "--export-table",
    "--growable-table",
    "--export=wasm_current_task",
)

def build_env() -> dict[str, str]:
    """The environment of every kernel make."""
    env = toolchain.build_env()
    # Reproducible: the banner says what was built, not where or when.
    env["KBUILD_BUILD_USER"] = "linuxwasm"
    env["KBUILD_BUILD_HOST"] = "linuxwasm"
    env["KBUILD_BUILD_VERSION"] = "1"
    env["KBUILD_BUILD_TIMESTAMP"] = "2026-01-01"
    return env


def make_command(tree: Path, obj: Path, target: str, *variables: str) -> list[str]:
    """make of a target in the kernel's trees, for wasm32 with LLVM 19."""
    return [
        "make", "-C", str(tree), f"O={obj}", "ARCH=wasm", "LLVM=-19",
        f"LD={toolchain.WASM_LD}", f"CC={toolchain.compiler()}", f"-j{os.cpu_count() or 1}", *variables, target,
    ]


def _make(tree: Path, obj: Path, target: str, log: Path, report: commands.Report) -> None:
    commands.run(make_command(tree, obj, target), what=f"kernel build ({target})", log=log, report=report,
                 env=build_env())


def _link(obj: Path, output: Path, log: Path) -> Path:
    libs = (obj / "vmlinux.libs").read_text().split()
    link_map = output.with_suffix(".map")
    cmd = [
        toolchain.require(toolchain.WASM_LD), *LINK_FLAGS, f"-Map={link_map}",
        "-o", str(output),
        "--whole-archive", str(obj / "vmlinux.a"), "--no-whole-archive",
        # wasm-ld has no --start-group: give the libraries twice.
        *(str(obj / lib) for lib in libs * 2),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=obj)
    with log.open("a") as out:
        out.write("$ " + " ".join(cmd) + "\n" + result.stdout + result.stderr)
    if result.returncode:
        lines = [ln for ln in result.stderr.splitlines() if "error" in ln]
        raise LinuxWasmError(f"kernel link failed: {lines[0] if lines else 'see ' + str(log)}"
                             f" ({len(lines)} errors, see {log})")
    return link_map


def _forget_objects_if_headers_moved(recipe: recipes.Recipe, tree: Path, obj: Path,
                                    log: Path, report: commands.Report) -> None:
    """make clean when an overlay header was added or removed.

    make's dependency lists name the headers an object used; a new header
    that shadows another one on the include path (an arch uapi header
    replacing a generic wrapper, say) changes nothing make looks at, and
    stale objects would disagree with new ones about structure layouts.
    """
    headers = sorted(
        str(p.relative_to(tree)) for folder in recipe.overlay
        for p in (tree / folder).rglob("*.h")
    )
    stamp = obj / ".overlay-headers"
    if stamp.exists() and stamp.read_text().split() != headers:
        report("overlay headers added or removed: rebuilding every object")
        _make(tree, obj, "clean", log, report)
    stamp.write_text("\n".join(headers))


def _key(recipe: recipes.Recipe) -> str:
    return artifacts.key(recipe, [Path(__file__), Path(postlink.__file__)])


def _prepare(recipe: recipes.Recipe, report: commands.Report) -> tuple[Path, Path, Path]:
    """The source tree with our overlay, and the configured object tree."""
    work = BUILD / "linux"
    tree, obj = work / "src", work / "obj"
    log = work / "build.log"
    report("preparing the kernel source tree")
    sources.prepare_tree(recipe, tree)
    sources.sync_overlay(recipe.folder / "overlay", recipe.overlay, tree, recipe.shared)
    obj.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    defconfig = tree / "arch/wasm/configs/wasm_defconfig"
    config_stamp = obj / ".defconfig"
    if not config_stamp.exists() or config_stamp.read_bytes() != defconfig.read_bytes():
        _make(tree, obj, "wasm_defconfig", log, report)
        shutil.copyfile(defconfig, config_stamp)
    return tree, obj, log


def build(report: commands.Report = lambda line: None) -> Path:
    """Build the kernel if any input changed; return build/vmlinux.wasm."""
    recipe = recipes.load("linux")
    for tool in (toolchain.CLANG, toolchain.WASM_LD, "flex", "bison", "bc"):
        toolchain.require(tool)
    artifact = artifacts.path(f"vmlinux-{_key(recipe)}.wasm")
    if not artifact.exists():
        tree, obj, log = _prepare(recipe, report)
        _forget_objects_if_headers_moved(recipe, tree, obj, log, report)
        _make(tree, obj, "vmlinux-objects", log, report)
        report("linking vmlinux.wasm")
        linked = obj / "vmlinux.wasm"
        link = postlink.read_map(_link(obj, linked, log))
        image = bytearray(linked.read_bytes())
        # Sorting moves bytes within segments: one parse serves both steps.
        module = parse_module(bytes(image))
        postlink.sort_symbol_tables(link, module, image)
        linked.write_bytes(image)
        postlink.check_tables(link, module)
        artifacts.store(linked, artifact.name)
    KERNEL_WASM.parent.mkdir(parents=True, exist_ok=True)
    if not KERNEL_WASM.exists() or KERNEL_WASM.read_bytes() != artifact.read_bytes():
        shutil.copyfile(artifact, KERNEL_WASM)
    return KERNEL_WASM


def module_tree(report: commands.Report = lambda line: None) -> tuple[Path, Path, Path]:
    """The kernel's source and object trees, ready for building modules
    against the kernel that build() made; and the build log."""
    recipe = recipes.load("linux")
    tree, obj, log = _prepare(recipe, report)
    stamp = obj / ".modules-prepared"
    key = _key(recipe)
    if not stamp.exists() or stamp.read_text() != key:
        _forget_objects_if_headers_moved(recipe, tree, obj, log, report)
        _make(tree, obj, "modules_prepare", log, report)
        stamp.write_text(key)
    return tree, obj, log


def headers(report: commands.Report = lambda line: None) -> Path:
    """The kernel's user API headers (linux/, asm/, ...) as a tar, for the sysroot."""
    recipe = recipes.load("linux")
    # Keyed by what the headers come from, so that a change elsewhere in
    # the kernel does not rebuild everything compiled against them.
    uapi = sorted((recipe.folder / "overlay" / "arch/wasm/include/uapi").rglob("*"))
    key = artifacts.key(recipe, [Path(__file__), *(p for p in uapi if p.is_file())], overlay=False)
    artifact = artifacts.path(f"linux-headers-{key}.tar")
    if not artifact.exists():
        toolchain.require("rsync")
        tree, obj, log = _prepare(recipe, report)
        install = obj / "usr-headers"
        shutil.rmtree(install, ignore_errors=True)
        commands.run(["make", "-C", str(tree), f"O={obj}", "ARCH=wasm", "LLVM=-19",
                      f"INSTALL_HDR_PATH={install}", "headers_install"],
                     what="kernel headers_install", log=log, report=report, env=build_env())
        with tarfile.open(obj / artifact.name, "w") as tar:
            tar.add(install / "include", arcname="include")
        artifacts.store(obj / artifact.name, artifact.name)
    return artifact
