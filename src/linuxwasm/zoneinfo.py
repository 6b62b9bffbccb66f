"""The time zone database for the system image, from Debian's tzdata package.

Read straight out of the verified .deb (no unpacking on disk): every zone
file and link under usr/share/zoneinfo, less right/ (the same zones
counting leap seconds, which nothing here uses). musl finds a zone named
by TZ there, and /etc/localtime, which init links to the host's zone.
"""

import lzma
import tarfile

from linuxwasm import recipes, sources
from linuxwasm.errors import LinuxWasmError
from linuxwasm.initramfs import Initramfs

GUEST_FOLDER = "/usr/share/zoneinfo"
LEFT_OUT = ("right/",)


def add_to(files: Initramfs) -> int:
    """Put the zone files into files at /usr/share/zoneinfo; returns how many."""
    recipe = recipes.load("tzdata")
    deb = sources.fetch(recipe.source.url, recipe.source.sha256)
    offset, size, name = sources.deb_data_member(deb)
    if not name.endswith(".xz"):
        raise LinuxWasmError(f"{deb}: unsupported data member {name}")
    prefix = recipe.source.strip.strip("/") + "/"
    count = 0
    with deb.open("rb") as f:
        f.seek(offset)
        with lzma.open(f) as data, tarfile.open(fileobj=data, mode="r|") as tar:
            for info in tar:
                path = info.name.removeprefix("./")
                if not path.startswith(prefix):
                    continue
                relative = path[len(prefix):]
                if not relative or relative.startswith(LEFT_OUT):
                    continue
                guest = f"{GUEST_FOLDER}/{relative}"
                if info.isfile():
                    member = tar.extractfile(info)
                    assert member is not None
                    files.add_file(guest, member.read())
                    count += 1
                elif info.issym():
                    files.add_symlink(guest, info.linkname)
                    count += 1
    if not count:
        raise LinuxWasmError(f"{deb}: no {prefix} inside")
    return count
