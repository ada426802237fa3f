#!/usr/bin/env bash
# Install what the tests use, idempotently; ~1 s when everything is there.
#
#  1. Debian/Ubuntu packages (apt-get): the real clients the tests run (age,
#     GNU tar + zstd, the aws CLI at /usr/bin/aws, jq), podman + runc,
#     busybox-static and the CA bundle for the stand-in base images, curl to
#     probe podman's API socket, shellcheck for actionlint's `run:` checks,
#     qemu-user-static to run the release's arm64 binary (called directly,
#     no binfmt), mmdebstrap (and Debian's keyring, for Ubuntu runners) for the image
#     host/'s systemd test boots, and
#     nix-bin (nix-instantiate) to parse and evaluate host/nixos/.
#     Each is looked for by the file it provides, so a machine that has the
#     tool from elsewhere (a GitHub runner's runc from containerd.io, its aws
#     CLI v2 linked to /usr/bin/aws) is left alone.
#  2. Go tools, pinned, into $(go env GOPATH)/bin: reinstalled only when the
#     binary is missing or was built from another version.
#  3. podman: scripts/ci/podman-setup.sh (containers.conf, stand-in images,
#     the Docker-compatible API socket).
#
# Needs root for 1 and 3 (uses sudo when not root and sudo is there). Run by
# scripts/ci/test.sh first unless SKIP_INSTALL=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$SECONDS
step() { printf '== install.sh [%ss]: %s\n' "$((SECONDS - t0))" "$*" >&2; }

[ -d /usr/local/go/bin ] && export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "install.sh: go not on PATH (need Go 1.26)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo DEBIAN_FRONTEND=noninteractive "$@"
	else
		echo "install.sh: need root for: $*" >&2
		return 1
	fi
}

# --- 1. packages: "package:file it provides" ---------------------------------
APT=(
	age:/usr/bin/age
	age:/usr/bin/age-keygen
	zstd:/usr/bin/zstd
	tar:/bin/tar
	awscli:/usr/bin/aws
	jq:/usr/bin/jq
	podman:/usr/bin/podman
	runc:runc
	uidmap:/usr/bin/newuidmap
	busybox-static:busybox-static
	rsync:/usr/bin/rsync
	time:/usr/bin/time
	ca-certificates:/etc/ssl/certs/ca-certificates.crt
	fuse-overlayfs:/usr/bin/fuse-overlayfs
	curl:/usr/bin/curl
	git:/usr/bin/git
	shellcheck:/usr/bin/shellcheck
	qemu-user-static:/usr/bin/qemu-aarch64-static
	mmdebstrap:/usr/bin/mmdebstrap
	debian-archive-keyring:/usr/share/keyrings/debian-archive-keyring.gpg
	nix-bin:/usr/bin/nix-instantiate
)
present() { # what: a path, a command name, or busybox-static
	case $1 in
	busybox-static)
		local b
		b=$(command -v busybox) && ! ldd "$b" >/dev/null 2>&1
		;;
	/*) [ -e "$1" ] ;;
	*) command -v "$1" >/dev/null ;;
	esac
}
missing=()
for e in "${APT[@]}"; do
	pkg=${e%%:*} what=${e#*:}
	present "$what" && continue
	[[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	step "apt-get install ${missing[*]}"
	as_root apt-get update -qq
	as_root apt-get install -y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"${missing[@]}" </dev/null
fi

# --- 2. Go tools, pinned -------------------------------------------------------
GOBIN=$(go env GOPATH)/bin
GO_TOOLS=(
	github.com/versity/versitygw/cmd/versitygw@v1.8.0
	github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
	honnef.co/go/tools/cmd/staticcheck@v0.8.2 # staticcheck 2026.2.2
	github.com/nektos/act@v0.2.89
)
for t in "${GO_TOOLS[@]}"; do
	pkg=${t%@*} ver=${t#*@} bin=$GOBIN/$(basename "${t%@*}")
	if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | awk '$1=="mod"{print $3; exit}' | grep -qx "$ver"; then
		continue
	fi
	step "go install $pkg@$ver"
	go install "$pkg@$ver"
done

# --- 3. podman -------------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
	scripts/ci/podman-setup.sh
elif command -v sudo >/dev/null; then
	sudo env "PATH=$PATH" scripts/ci/podman-setup.sh
else
	echo "install.sh: not root and no sudo: skipped podman-setup.sh (container tests skip)" >&2
fi
step "done"
