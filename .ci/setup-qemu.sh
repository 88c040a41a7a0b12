#!/usr/bin/env bash
# Install QEMU and a Linux kernel for the containers lab's virtual machine (as root).
# The kernel is Debian's cloud kernel, downloaded as a package but NOT installed:
# only boot/vmlinuz-* is extracted into $LEARNBACKEND_VM_DIR (default /var/cache/learnbackend/vm),
# where learnbackend looks for it. Idempotent; no daemon is started.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
VM_DIR="${LEARNBACKEND_VM_DIR:-/var/cache/learnbackend/vm}"
APT=(apt-get -o DPkg::Lock::Timeout=600)

apt_install() {
    if ! "${APT[@]}" install -y --no-install-recommends "$@" >/tmp/setup-qemu-apt.log 2>&1; then
        "${APT[@]}" update >/dev/null 2>&1 || true
        "${APT[@]}" install -y --no-install-recommends "$@" >/tmp/setup-qemu-apt.log 2>&1
    fi
}

if ! command -v qemu-system-x86_64 >/dev/null 2>&1 || [ ! -x /bin/busybox ]; then
    echo "setup-qemu: installing qemu-system-x86 busybox-static"
    apt_install qemu-system-x86 busybox-static
fi

if [ -s "$VM_DIR/vmlinuz" ]; then
    echo "setup-qemu: kernel already at $VM_DIR/vmlinuz"
    exit 0
fi

# The versioned package the meta-package points at, e.g. linux-image-6.1.0-28-cloud-amd64.
pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
if [ -z "$pkg" ]; then
    "${APT[@]}" update >/dev/null 2>&1 || true
    pkg="$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
fi
[ -n "$pkg" ] || { echo "setup-qemu: cannot find Debian's cloud kernel package" >&2; exit 1; }

work="$(mktemp -d /tmp/setup-qemu.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "setup-qemu: downloading $pkg (not installing it)"
( cd "$work" && "${APT[@]}" download "$pkg" >/tmp/setup-qemu-download.log 2>&1 )
deb="$(ls "$work"/*.deb)"
( cd "$work" && dpkg-deb --fsys-tarfile "$deb" | tar -x ./boot/ )
mkdir -p "$VM_DIR"
kernel="$(ls "$work"/boot/vmlinuz-* | head -n 1)"
cp "$kernel" "$VM_DIR/vmlinuz.tmp"
basename "$kernel" >"$VM_DIR/kernel-version"
mv "$VM_DIR/vmlinuz.tmp" "$VM_DIR/vmlinuz"
chmod 0644 "$VM_DIR/vmlinuz"
echo "setup-qemu: kernel at $VM_DIR/vmlinuz ($(cat "$VM_DIR/kernel-version"))"
