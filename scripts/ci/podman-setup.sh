#!/usr/bin/env bash
# Idempotent podman setup for tests and CI (run as root on Debian 12).
#
#  1. /etc/containers/containers.conf: runc runtime and default ulimits that fit
#     under this machine's hard limits (podman's defaults ask for more and fail).
#  2. Local stand-ins for base images that cannot be pulled here, built with
#     `podman import` from host files (busybox-static, the host Go toolchain,
#     the host CA bundle):
#       docker.io/library/golang:1.26        (+ :1.26.<patch>, :1.26-alpine, :1.26-bookworm)
#       gcr.io/distroless/static-debian12:latest (+ :nonroot)
#       docker.io/library/alpine:3.20
#       localhost/act-runner:latest          (act's -P ubuntu-latest=...)
#     Each carries a label with a hash of its recipe; it is rebuilt only when
#     the recipe (this script, the Go version, busybox) changes.
#  3. podman's Docker-compatible API on unix:///run/podman/podman.sock
#     (`podman system service --time=0`), started in the background if no
#     service answers there. Export DOCKER_HOST=unix:///run/podman/podman.sock
#     for act.
#
# Env: PODMAN_SETUP_NO_SERVICE=1 skips step 3. PODMAN_SETUP_FORCE=1 rebuilds images.
set -euo pipefail

log() { printf 'podman-setup: %s\n' "$*" >&2; }

SOCK=/run/podman/podman.sock
LABEL=org.openclaw.clawdinator.standin
GOROOT_HOST=$(go env GOROOT)
GOVERSION=$(go env GOVERSION)           # go1.26.8
GOVER=${GOVERSION#go}                   # 1.26.8
GOMINOR=$(echo "$GOVER" | cut -d. -f1,2) # 1.26
BUSYBOX=$(command -v busybox)
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

for c in podman runc busybox go; do
	command -v "$c" >/dev/null || { log "missing $c"; exit 1; }
done
file_is_static() { ! ldd "$1" >/dev/null 2>&1; }
file_is_static "$BUSYBOX" || { log "$BUSYBOX is not static (install busybox-static)"; exit 1; }
[ -s "$CA_BUNDLE" ] || { log "missing $CA_BUNDLE (install ca-certificates)"; exit 1; }

# --- 1. containers.conf -----------------------------------------------------
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
nproc=$(ulimit -Hu)
if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
conf=/etc/containers/containers.conf
want=$(
	cat <<EOF
# Written by scripts/ci/podman-setup.sh (clawdinator-bundle CI).
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]

[engine]
runtime = "runc"
EOF
)
mkdir -p /etc/containers
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
	[ -f "$conf" ] && ! grep -q 'scripts/ci/podman-setup.sh' "$conf" && cp "$conf" "$conf.bak.$(date +%s)"
	printf '%s\n' "$want" >"$conf"
	log "wrote $conf (nofile=$nofile nproc=$nproc runtime=runc)"
fi
# Storage: the default (overlay on the host's ext4, native diff) works as root
# here; nothing to configure. Report it for the log.
log "storage driver: $(podman info --format '{{.Store.GraphDriverName}}')"

# --- 2. stand-in images -------------------------------------------------------
work=$(mktemp -d /var/tmp/podman-setup.XXXXXX)
trap 'rm -rf "$work"' EXIT

recipe_hash() { # name -> hash of the recipe inputs
	{
		echo "$1"
		sed -n '/^# --- 2\./,/^# --- 3\./p' "$0"
		echo "$GOVERSION"
		sha256sum "$BUSYBOX" "$CA_BUNDLE"
	} | sha256sum | cut -c1-16
}

image_current() { # ref hash
	[ "${PODMAN_SETUP_FORCE:-}" = 1 ] && return 1
	local got
	got=$(podman image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null) || return 1
	[ "$got" = "$2" ]
}

base_rootfs() { # dir: minimal files every stand-in has
	local r=$1
	mkdir -p "$r"/{etc/ssl/certs,tmp,root,var/tmp,dev,proc,sys}
	chmod 1777 "$r/tmp" "$r/var/tmp"
	chmod 0700 "$r/root"
	install -m 0644 "$CA_BUNDLE" "$r/etc/ssl/certs/ca-certificates.crt"
	cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
	cat >"$r/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
	echo 'hosts: files dns' >"$r/etc/nsswitch.conf"
}

add_busybox() { # dir: /bin/busybox + an applet symlink for every applet
	local r=$1 p
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin}
	install -m 0755 "$BUSYBOX" "$r/bin/busybox"
	"$BUSYBOX" --list-full | while read -r p; do
		[ -e "$r/$p" ] || [ -L "$r/$p" ] || ln -s /bin/busybox "$r/$p"
	done
}

add_dynamic() { # dir binary...: copy host binaries with the libraries they load
	local r=$1 b lib
	shift
	for b in "$@"; do
		mkdir -p "$r$(dirname "$b")"
		cp -L "$b" "$r$b"
		for lib in $(ldd "$b" | grep -o '/[^ ]*'); do
			mkdir -p "$r$(dirname "$lib")"
			cp -L "$lib" "$r$lib"
		done
	done
}

import_image() { # dir hash ref [changes...]
	local r=$1 h=$2 ref=$3
	shift 3
	local args=(--change "LABEL $LABEL=$h")
	local c
	for c in "$@"; do args+=(--change "$c"); done
	tar --numeric-owner --owner=0 --group=0 -C "$r" -cf "$work/rootfs.tar" .
	old_ids+=("$(podman image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)")
	podman import -q "${args[@]}" "$work/rootfs.tar" "$ref" >/dev/null
	rm -f "$work/rootfs.tar"
	rm -rf "$r"
	log "built $ref"
}

old_ids=() # images replaced by a rebuild: removed at the end once untagged

# golang:1.26 — busybox userland + the host's Go toolchain.
ref=docker.io/library/golang:$GOMINOR
h=$(recipe_hash golang)
if ! image_current "$ref" "$h"; then
	r=$work/golang
	base_rootfs "$r"
	add_busybox "$r"
	mkdir -p "$r/usr/local" "$r/go/bin" "$r/go/src"
	chmod -R 0777 "$r/go"
	# The toolchain minus its own test suite (not needed to build).
	tar -C "$(dirname "$GOROOT_HOST")" --exclude="./$(basename "$GOROOT_HOST")/test" \
		-cf - "./$(basename "$GOROOT_HOST")" | tar -C "$r/usr/local" -xf -
	[ "$GOROOT_HOST" = /usr/local/go ] || mv "$r/usr/local/$(basename "$GOROOT_HOST")" "$r/usr/local/go"
	import_image "$r" "$h" "$ref" \
		"ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		"ENV GOLANG_VERSION=$GOVER" "ENV GOTOOLCHAIN=local" "ENV GOPATH=/go" \
		"WORKDIR /go" 'CMD ["/bin/sh"]'
fi
for t in "$GOVER" "$GOMINOR-alpine" "$GOMINOR-bookworm"; do
	podman tag "$ref" "docker.io/library/golang:$t"
done

# distroless/static-debian12 — CA bundle, passwd/group, /tmp; no shell.
ref=gcr.io/distroless/static-debian12:latest
h=$(recipe_hash distroless)
if ! image_current "$ref" "$h"; then
	r=$work/distroless
	base_rootfs "$r"
	mkdir -p "$r/home/nonroot"
	chown 65532:65532 "$r/home/nonroot"
	printf 'PRETTY_NAME="Distroless (clawdinator CI stand-in)"\nID=debian\nVERSION_ID="12"\n' >"$r/etc/os-release"
	import_image "$r" "$h" "$ref" \
		"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		"ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
fi
podman tag "$ref" gcr.io/distroless/static-debian12:nonroot gcr.io/distroless/static:latest

# alpine:3.20 — busybox userland + CA bundle.
ref=docker.io/library/alpine:3.20
h=$(recipe_hash alpine)
if ! image_current "$ref" "$h"; then
	r=$work/alpine
	base_rootfs "$r"
	add_busybox "$r"
	import_image "$r" "$h" "$ref" \
		"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" 'CMD ["/bin/sh"]'
fi

# act runner — busybox + bash (act runs `run:` steps with sh, `shell: bash` needs bash).
# No node: act copies the workspace itself for a local `actions/checkout`, and
# no other JS action can be fetched here anyway.
ref=localhost/act-runner:latest
h=$(recipe_hash act-runner)
if ! image_current "$ref" "$h"; then
	r=$work/runner
	base_rootfs "$r"
	add_busybox "$r"
	rm -f "$r/bin/bash" "$r/usr/bin/bash"
	add_dynamic "$r" /bin/bash
	mkdir -p "$r/home/runner/work"
	import_image "$r" "$h" "$ref" \
		"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		"ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" 'CMD ["/bin/sh"]'
fi

# Drop replaced stand-ins that no tag names any more (ignore ones still in use).
for id in "${old_ids[@]}"; do
	[ -n "$id" ] || continue
	[ "$(podman image inspect --format '{{len .RepoTags}}' "$id" 2>/dev/null || echo 1)" = 0 ] &&
		podman rmi "$id" >/dev/null 2>&1 || true
done

# --- 3. Docker-compatible API socket ----------------------------------------------
if [ "${PODMAN_SETUP_NO_SERVICE:-}" != 1 ]; then
	ping() { curl -fsS --max-time 2 --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; }
	# A service started from a directory removed since answers pings but
	# starts no container (see below): replace it.
	for pid in $(pgrep -f "podman system service --time=0 unix://$SOCK" || true); do
		if [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == *"(deleted)" ]]; then
			log "podman service (pid $pid) runs in a removed directory: restarting it"
			kill "$pid"
			for _ in $(seq 1 50); do ping || break; sleep 0.1; done
		fi
	done
	if ! ping; then
		mkdir -p "$(dirname "$SOCK")"
		rm -f "$SOCK"
		# From /: the service outlives this checkout, and conmon, which
		# inherits its working directory, fails every container start
		# ("write child: broken pipe") once that directory is removed.
		(cd / && exec setsid nohup podman system service --time=0 "unix://$SOCK" \
			>/var/log/podman-service.log 2>&1 </dev/null) &
		for _ in $(seq 1 100); do ping && break; sleep 0.1; done
		ping || { log "podman service did not answer on $SOCK"; cat /var/log/podman-service.log >&2; exit 1; }
		log "podman API on unix://$SOCK (pid $!)"
	fi
fi
