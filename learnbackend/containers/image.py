"""The lab's image: a static busybox FROM scratch, built locally without any registry.

The build context is a tar archive made in memory; the build runs with
``network_mode="none"``. The image is tagged by a hash of its content, so it is
built once and reused until busybox (or this recipe) changes.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

from learnbackend.containers import sessions
from learnbackend.containers.engine import IMAGE_LABEL
from learnbackend.containers.vm import find_busybox
from learnbackend.errors import EnvironmentMissing

REPOSITORY = "learnbackend/busybox"
#: What a learner writes in a spec file to mean "the lab's image".
IMAGE_ALIASES = ("learnbackend/busybox", "busybox")
RECIPE_VERSION = "2"

DOCKERFILE = b"""FROM scratch
COPY rootfs/ /
CMD ["/bin/sh"]
"""

BUSYBOX_FIX = ("Install a static busybox: `sudo apt-get install busybox-static` (Debian/Ubuntu); "
               "the lab builds its image from /bin/busybox without any registry.")


def _applets(busybox: Path) -> list[str]:
    try:
        out = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return ["sh", "echo", "cat", "ls", "ps", "sleep", "dd", "head", "hostname", "id", "mount"]
    return sorted({name for name in out.split() if name and "/" not in name and name != "busybox"})


def _is_static(busybox: Path) -> bool:
    head = busybox.read_bytes()[:4096]
    return b"/lib64/ld-linux" not in head and b"/lib/ld-linux" not in head


def build_context(busybox: Path) -> tuple[bytes, str]:
    """The gzip-free tar build context and its content hash."""
    data = busybox.read_bytes()
    applets = _applets(busybox)
    digest = hashlib.sha256(data + DOCKERFILE + RECIPE_VERSION.encode() + " ".join(applets).encode()).hexdigest()
    buf = io.BytesIO()
    mtime = int(time.time())
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name: str, payload: bytes = b"", mode: int = 0o644, kind: bytes = tarfile.REGTYPE,
                link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime, info.linkname = kind, mode, mtime, link
            info.size = len(payload) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(payload) if kind == tarfile.REGTYPE else None)

        add("Dockerfile", DOCKERFILE)
        for directory in ("rootfs", "rootfs/bin", "rootfs/tmp", "rootfs/etc", "rootfs/proc", "rootfs/sys",
                          "rootfs/dev", "rootfs/root"):
            add(directory, mode=0o1777 if directory.endswith("tmp") else 0o755, kind=tarfile.DIRTYPE)
        add("rootfs/bin/busybox", data, 0o755)
        for applet in applets:
            add(f"rootfs/bin/{applet}", kind=tarfile.SYMTYPE, link="busybox")
        add("rootfs/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        add("rootfs/etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    return buf.getvalue(), digest[:12]


def ensure_image(client: Any) -> str:
    """The tag of the lab's image, building it (offline, FROM scratch) if this content is not there yet.

    This process's session claims the tag before it looks or builds: a ``clean`` running meanwhile
    (which lists the images first, then reads the claims) keeps it instead of removing the image
    between the build's last layer and its tag.
    """
    from docker.errors import BuildError, ImageNotFound

    busybox = find_busybox()
    if busybox is None:
        raise EnvironmentMissing("No busybox binary was found to build the lab's image.", fix=BUSYBOX_FIX)
    if not _is_static(busybox):
        raise EnvironmentMissing(f"{busybox} is not statically linked: it cannot run in an empty image.",
                                 fix=BUSYBOX_FIX)
    context, digest = build_context(busybox)
    tag = f"{REPOSITORY}:{digest}"
    sessions.record(tag)
    try:
        client.images.get(tag)
        return tag
    except ImageNotFound:
        pass
    try:
        client.images.build(fileobj=io.BytesIO(context), custom_context=True, tag=tag, network_mode="none",
                            labels={IMAGE_LABEL: "1"}, rm=True, forcerm=True, pull=False)
    except BuildError as exc:
        raise EnvironmentMissing(f"The Docker engine could not build the lab's image: {exc.msg}",
                                 fix="Check `learnbackend containers doctor`; the build needs no network.") from None
    return tag
