"""Tests for linuxwasm.recipes: the strict recipe.toml schema."""

import re
from pathlib import Path

import pytest

from linuxwasm.errors import LinuxWasmError
from linuxwasm.recipes import DebianPatches, Recipe, Source, load

HEX64 = re.compile(r"[0-9a-f]{64}")

VALID = """\
name = "thing"
version = "1.2.3"
license = "MIT"

[source]
url = "http://example.invalid/pool/thing_1.2.3_all.deb"
sha256 = "{sha}"
member = "usr/src/thing.tar.xz"
member_sha256 = "{member_sha}"
strip = "thing-1.2.3"

[build]
patches = ["0001-first.patch", "0002-second.patch"]
overlay = ["arch/wasm", "tools/wasm"]
""".format(sha="a" * 64, member_sha="b" * 64)


def make_recipe(root: Path, text: str = VALID, patches: tuple[str, ...] = (
        "0001-first.patch", "0002-second.patch"), name: str = "thing") -> Path:
    """Write root/name/recipe.toml and the given patch files; return the folder."""
    folder = root / name
    (folder / "patches").mkdir(parents=True)
    (folder / "recipe.toml").write_text(text)
    for patch in patches:
        (folder / "patches" / patch).write_text("--- a/x\n+++ b/x\n")
    return folder


def test_valid_recipe_loads(tmp_path: Path) -> None:
    folder = make_recipe(tmp_path)
    recipe = load("thing", tmp_path)
    assert isinstance(recipe, Recipe)
    assert (recipe.name, recipe.version, recipe.license) == ("thing", "1.2.3", "MIT")
    assert recipe.folder == folder
    assert recipe.source == Source(
        url="http://example.invalid/pool/thing_1.2.3_all.deb",
        sha256="a" * 64,
        member="usr/src/thing.tar.xz",
        member_sha256="b" * 64,
        strip="thing-1.2.3",
    )
    # Patches: Paths into the recipe's patches/ folder, in the listed order.
    assert recipe.patches == (folder / "patches" / "0001-first.patch",
                              folder / "patches" / "0002-second.patch")
    assert all(isinstance(p, Path) and p.is_file() for p in recipe.patches)
    # Overlay: a tuple (hashable, like the frozen dataclass), not a list.
    assert recipe.overlay == ("arch/wasm", "tools/wasm")
    assert isinstance(recipe.overlay, tuple) and isinstance(recipe.patches, tuple)


def test_empty_patch_list_is_fine(tmp_path: Path) -> None:
    make_recipe(tmp_path, VALID.replace(
        'patches = ["0001-first.patch", "0002-second.patch"]', "patches = []"), patches=())
    assert load("thing", tmp_path).patches == ()


@pytest.mark.parametrize("where, extra, table", [
    ("top", 'homepage = "x"\n', ""),
    ("[source]", 'mirror = "x"\n', " [source]"),
    ("[build]", 'flags = ["x"]\n', " [build]"),
])
def test_unknown_key_is_named(tmp_path: Path, where: str, extra: str, table: str) -> None:
    text = extra + VALID if where == "top" else VALID.replace(f"{where}\n", f"{where}\n{extra}")
    make_recipe(tmp_path, text)
    with pytest.raises(LinuxWasmError) as err:
        load("thing", tmp_path)
    message = str(err.value)
    key = extra.split(" ", 1)[0]
    assert f"unknown key(s) {key}" in message
    assert f"recipe.toml{table}:" in message
    assert "\n" not in message


def test_several_unknown_keys_are_all_named(tmp_path: Path) -> None:
    make_recipe(tmp_path, 'zeta = 1\nalpha = 2\n' + VALID)
    with pytest.raises(LinuxWasmError, match=r"unknown key\(s\) alpha, zeta"):
        load("thing", tmp_path)


@pytest.mark.parametrize("line, key, table", [
    ('license = "MIT"\n', "license", ""),
    ('strip = "thing-1.2.3"\n', "strip", " [source]"),
    ('overlay = ["arch/wasm", "tools/wasm"]\n', "overlay", " [build]"),
])
def test_missing_key_is_named(tmp_path: Path, line: str, key: str, table: str) -> None:
    assert line in VALID
    make_recipe(tmp_path, VALID.replace(line, ""))
    with pytest.raises(LinuxWasmError) as err:
        load("thing", tmp_path)
    assert f"recipe.toml{table}: missing key(s) {key}" in str(err.value)


def test_missing_table_is_a_missing_key(tmp_path: Path) -> None:
    make_recipe(tmp_path, VALID.split("[build]")[0])
    with pytest.raises(LinuxWasmError, match=r"missing key\(s\) build"):
        load("thing", tmp_path)


def test_listed_patch_missing(tmp_path: Path) -> None:
    make_recipe(tmp_path, patches=("0001-first.patch",))
    with pytest.raises(LinuxWasmError, match="patch 0002-second.patch is listed but missing"):
        load("thing", tmp_path)


def test_patch_that_is_a_folder_counts_as_missing(tmp_path: Path) -> None:
    folder = make_recipe(tmp_path, patches=("0001-first.patch",))
    (folder / "patches" / "0002-second.patch").mkdir()
    with pytest.raises(LinuxWasmError, match="0002-second.patch is listed but missing"):
        load("thing", tmp_path)


def test_patch_not_listed_is_an_error(tmp_path: Path) -> None:
    folder = make_recipe(tmp_path)
    (folder / "patches" / "0003-forgotten.patch").write_text("--- a/x\n+++ b/x\n")
    with pytest.raises(LinuxWasmError, match="patch 0003-forgotten.patch is in patches/ but not listed"):
        load("thing", tmp_path)


def test_invalid_toml(tmp_path: Path) -> None:
    make_recipe(tmp_path, VALID.replace('name = "thing"', 'name = "thing'))
    with pytest.raises(LinuxWasmError) as err:
        load("thing", tmp_path)
    assert "not valid TOML" in str(err.value)
    assert str(tmp_path / "thing" / "recipe.toml") in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_missing_recipe_file(tmp_path: Path) -> None:
    (tmp_path / "thing").mkdir()
    with pytest.raises(LinuxWasmError) as err:
        load("thing", tmp_path)
    assert "cannot read recipe (No such file or directory)" in str(err.value)
    assert str(tmp_path / "thing" / "recipe.toml") in str(err.value)


def test_missing_package_folder(tmp_path: Path) -> None:
    with pytest.raises(LinuxWasmError, match="cannot read recipe"):
        load("nonexistent", tmp_path)


def test_real_linux_recipe() -> None:
    recipe = load("linux")
    assert recipe.name == "linux"
    assert recipe.folder.name == "linux" and (recipe.folder / "recipe.toml").is_file()
    assert recipe.patches, "the linux recipe lists its patches"
    for patch in recipe.patches:
        assert patch.is_file(), patch
        assert patch.parent == recipe.folder / "patches"
    assert HEX64.fullmatch(recipe.source.sha256)
    assert HEX64.fullmatch(recipe.source.member_sha256)
    assert recipe.source.url.endswith(".deb")
    assert recipe.source.member.startswith("usr/src/") and recipe.source.member.endswith(".tar.xz")
    assert recipe.overlay, "the linux recipe has overlay folders"
    for folder in recipe.overlay:
        assert (recipe.folder / "overlay" / folder).is_dir(), folder
    # Every patch file in the folder is applied: none forgotten in the list.
    assert sorted(p.name for p in (recipe.folder / "patches").glob("*.patch")) == \
        sorted(p.name for p in recipe.patches)


def test_debian_packaging_is_optional_and_read(tmp_path: Path) -> None:
    assert load("thing", make_recipe(tmp_path).parent).debian is None
    text = VALID.replace("[build]", '[debian]\nurl = "http://example.invalid/thing.debian.tar.xz"\n'
                         f'sha256 = "{"c" * 64}"\n\n[build]')
    make_recipe(tmp_path, text, name="other")
    recipe = load("other", tmp_path)
    assert recipe.debian == DebianPatches(url="http://example.invalid/thing.debian.tar.xz", sha256="c" * 64)


def test_debian_table_is_checked(tmp_path: Path) -> None:
    text = VALID.replace("[build]", '[debian]\nurl = "http://example.invalid/x"\n\n[build]')
    make_recipe(tmp_path, text)
    with pytest.raises(LinuxWasmError, match=r"\[debian\]: missing key\(s\) sha256"):
        load("thing", tmp_path)
