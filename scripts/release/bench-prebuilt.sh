#!/usr/bin/env bash
# bench-prebuilt.sh: what a job pays for `uses: openclaw/clawdinator-bundle`
# from `image: Dockerfile` (main, forks) against the release commit's
# `image: docker://…@sha256:…`. A benchmark, not a test: run it by hand; the
# README quotes its output.
#
# In one run, the same act step (testdata/act/release-commit.yml: mode
# assemble on a fixture from scripts/ci/gen-fixture.sh) twice:
#   dockerfile  action.yml `image: Dockerfile`; act builds the image through
#               podman's Docker API, cold: no image of that name, no layer
#               cache (a nonce label heads the build stage) and no Go build
#               cache (the Dockerfile's cache mount is taken out here), the
#               modules downloaded from the Go proxy, as a runner does
#   prebuilt    action.yml `image: docker://127.0.0.1:PORT/…@sha256:…`, the
#               same Dockerfile built beforehand, pushed to a local registry
#               (scripts/release/registry) and pulled into podman by digest
# Both use the local stand-in base images (the copy's ARG defaults name them
# and its digest-pinned stages are dropped: no base image is pulled in
# either), so the prebuilt side leaves out its 13 MB pull and the
# Dockerfile side the pull of golang:1.26.
#
# Prints the act step's time for each ("Success - Main … [Ns]"), act's wall
# time, and prebuilt / dockerfile (the goal: ≤ 0.10).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
PATH="$(go env GOPATH)/bin:$PATH"
export PATH DOCKER_HOST=${DOCKER_HOST:-unix:///run/podman/podman.sock} ACT_DISABLE_VERSION_CHECK=1

STANDINS=(--build-arg GO_IMAGE=docker.io/library/golang:1.26
	--build-arg BASE_IMAGE=gcr.io/distroless/static-debian12:latest)
ACT_IMAGE=docker.io/library/act-dockeraction:latest
ACT_LOCK=/tmp/clawdinator-act-dockeraction.lock # shared with internal/containertest and act-smoke.sh
say() { printf '== bench-prebuilt: %s\n' "$*" >&2; }
die() { printf 'bench-prebuilt: error: %s\n' "$*" >&2; exit 1; }
for c in podman act git go age-keygen flock; do
	command -v "$c" >/dev/null || die "$c missing (scripts/ci/install.sh)"
done
[ "$(id -u)" = 0 ] && scripts/ci/podman-setup.sh

tmp=$(mktemp -d /var/tmp/bench-prebuilt.XXXXXX)
regpid=
cleanup() {
	[ -n "$regpid" ] && kill "$regpid" 2>/dev/null
	podman rmi -f localhost/clawdinator-bundle:bench-prebuilt >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# repo DIR: the tracked files, the fixture and the one workflow, committed.
repo() {
	local d=$1
	mkdir -p "$d"
	git ls-files -z | while IFS= read -r -d '' f; do
		[ -e "$f" ] || continue
		mkdir -p "$d/$(dirname "$f")"
		cp -P "$f" "$d/$f"
	done
	rm -rf "$d/.github/workflows"
	mkdir -p "$d/.github/workflows"
	cp testdata/act/release-commit.yml "$d/.github/workflows/"
	cp -R "$tmp/fixture" "$d/fixture"
}
commit() {
	git -C "$1" init -q -b main
	git -C "$1" add -A
	git -C "$1" -c user.name=bench -c user.email=bench@localhost commit -q -m bench
}
scripts/ci/gen-fixture.sh "$tmp/fixture" >/dev/null 2>&1
secret=$(grep '^AGE-SECRET-KEY-' "$tmp/fixture/age.key")
recipient=$(cat "$tmp/fixture/recipient")

# act-step DIR VERSION LABEL: run the workflow, print "<step seconds> <wall seconds>".
act_step() {
	local d=$1 version=$2 label=$3 t0 t1 step
	t0=$(date +%s.%N)
	(cd "$d" && CLAWDINATOR_AGE_KEY=$secret act workflow_dispatch \
		-W .github/workflows/release-commit.yml -P ubuntu-latest=localhost/act-runner:latest \
		--pull=false --container-daemon-socket=- -s CLAWDINATOR_AGE_KEY \
		--var "EXPECTED_RECIPIENT=$recipient" --var "RELEASE_VERSION=$version") >"$tmp/$label.log" 2>&1 ||
		{ tail -30 "$tmp/$label.log" >&2; die "act ($label)"; }
	t1=$(date +%s.%N)
	grep -q 'Job succeeded' "$tmp/$label.log" || die "act ($label): no 'Job succeeded'"
	step=$(sed -n 's/.*Success - Main Assemble with the released image \[\(.*\)\]$/\1/p' "$tmp/$label.log")
	[ -n "$step" ] || die "act ($label): no step time in the log"
	echo "$(to_seconds "$step") $(awk "BEGIN{print $t1 - $t0}")"
}
to_seconds() { # a Go duration (1m2.5s, 850ms, 3.2s) -> seconds
	awk -v d="$1" 'BEGIN{
		s = 0
		if (match(d, /[0-9.]+m[^s]/)) { s += substr(d, RSTART, RLENGTH - 2) * 60; d = substr(d, RSTART + RLENGTH - 1) }
		if (d ~ /ms$/) { sub(/ms$/, "", d); s += d / 1000 } else { sub(/s$/, "", d); s += d }
		printf "%.2f", s
	}'
}

# --- prebuilt: build, push, pull by digest --------------------------------------
say "prebuilt: podman build, push to a local registry, pull by digest"
go mod download
podman build -q --pull=never --network=none -v "$(go env GOMODCACHE):/go/pkg/mod:ro" "${STANDINS[@]}" \
	--build-arg VERSION=v0.0.0-bench -t localhost/clawdinator-bundle:bench-prebuilt . >/dev/null
go build -C scripts/release/registry -o "$tmp/registry" . # a module of its own
"$tmp/registry" -addr-file "$tmp/registry.addr" &
regpid=$!
for _ in $(seq 1 100); do [ -s "$tmp/registry.addr" ] && break; sleep 0.1; done
[ -s "$tmp/registry.addr" ] || die "the registry did not start"
ref=$(cat "$tmp/registry.addr")/openclaw/clawdinator-bundle
podman push -q --tls-verify=false --digestfile "$tmp/digest" localhost/clawdinator-bundle:bench-prebuilt "docker://$ref:bench"
digest=$(cat "$tmp/digest")
podman pull -q --tls-verify=false "$ref@$digest" >/dev/null
repo "$tmp/prebuilt"
(cd "$tmp/prebuilt" && go run ./internal/config/gen -image "docker://$ref@$digest")
commit "$tmp/prebuilt"

# --- dockerfile: cold ---------------------------------------------------------------
repo "$tmp/dockerfile"
sed -i \
	-e 's#^ARG GO_IMAGE=.*#ARG GO_IMAGE=docker.io/library/golang:1.26#' \
	-e 's#^ARG BASE_IMAGE=.*#ARG BASE_IMAGE=gcr.io/distroless/static-debian12:latest#' \
	-e '/ AS golang-pinned$/d' -e '/ AS distroless-pinned$/d' \
	-e 's#^RUN --mount=type=cache,target=/root/.cache/go-build #RUN #' \
	-e "s#^WORKDIR /src\$#LABEL bench.nonce=$(date +%s%N)\\nWORKDIR /src#" \
	"$tmp/dockerfile/Dockerfile"
grep -q '^LABEL bench.nonce=' "$tmp/dockerfile/Dockerfile" || die "Dockerfile: the nonce went nowhere"
if grep -q -- '-pinned$' "$tmp/dockerfile/Dockerfile"; then die "Dockerfile: a digest-pinned stage is still there (not pullable here)"; fi
if grep -q -- '--mount=type=cache' "$tmp/dockerfile/Dockerfile"; then die "Dockerfile: the cache mount is still there"; fi
commit "$tmp/dockerfile"

exec 9>"$ACT_LOCK"
flock 9
podman rmi -f "$ACT_IMAGE" >/dev/null 2>&1 || true
say "dockerfile: act builds image: Dockerfile cold, then runs the step"
read -r d_step d_wall < <(act_step "$tmp/dockerfile" unknown dockerfile)
grep -q 'docker build' "$tmp/dockerfile.log" || die "act did not build the Dockerfile (the measurement would be wrong)"
podman rmi -f "$ACT_IMAGE" >/dev/null 2>&1 || true
flock -u 9

say "prebuilt: act runs image: docker://$ref@$digest"
read -r p_step p_wall < <(act_step "$tmp/prebuilt" v0.0.0-bench prebuilt)
if grep -q 'docker build' "$tmp/prebuilt.log"; then die "act built an image for the prebuilt action"; fi

printf '%s, %s, %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" "podman $(podman version --format '{{.Client.Version}}'), act $(act --version | awk '{print $3}')"
printf '%-11s %9s %9s\n' "" "step (s)" "act (s)"
printf '%-11s %9s %9s\n' dockerfile "$d_step" "$(printf '%.1f' "$d_wall")" prebuilt "$p_step" "$(printf '%.1f' "$p_wall")"
awk -v p="$p_step" -v d="$d_step" -v pw="$p_wall" -v dw="$d_wall" \
	'BEGIN{printf "prebuilt / dockerfile: step %.3f, whole act run %.3f (goal: step <= 0.10)\n", p / d, pw / dw}'
