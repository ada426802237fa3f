#!/usr/bin/env bash
# Builds the root filesystem the systemd test boots, from Debian's packages
# (no container registry): systemd as PID 1, dbus, and what the units and
# their stand-ins run (rsync, git, age). Imported into podman as TAG.
# The test tags the image with a hash of this file, so editing it rebuilds.
#
#   host/testdata/image.sh TAG
set -euo pipefail
tag=${1:?usage: image.sh TAG}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mmdebstrap --variant=minbase --format=tar \
	--include=systemd,systemd-sysv,dbus,rsync,git,age \
	--aptopt='APT::Install-Recommends "false"' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
	bookworm "$tmp/rootfs.tar"
podman import --change 'CMD ["/sbin/init"]' "$tmp/rootfs.tar" "$tag" >/dev/null
