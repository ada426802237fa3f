#!/usr/bin/env bash
# Measure what building the action's image costs (the README's "Running the
# action from a prebuilt image" quotes it). Not part of the test command:
# run it by hand, on an otherwise idle machine for meaningful numbers.
#
# In a scratch copy of the build context (Dockerfile without its Go build
# cache mount, .dockerignore, go.mod,
# go.sum, cmd/, internal/ as they are in the work tree), with podman, the
# stand-in base images and the module cache mounted (--network=none):
#   cold         --no-cache: every layer rebuilt (what a GitHub-hosted runner
#                pays on every run of `uses: …@v1`, plus pulling golang:1.26
#                and downloading the modules)
#   warm         the same build again (after one that fills the layer cache),
#                nothing changed: every layer cached
#   touch        a .go file's mtime changed, not its content: still cached
#                (podman keys COPY on content)
#   edit         a .go file's content changed: COPY and `go build` rerun
# With MEASURE_PROXY=1 also
#   cold-proxy   --no-cache, no module cache mounted, modules downloaded from
#                the Go proxy over the network, as a runner's `docker build` does
# and the image size (podman image inspect {{.Size}}).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
TAG=localhost/clawdinator-bundle:build-times
command -v podman >/dev/null || { echo "image-build-times: podman missing (scripts/ci/install.sh)" >&2; exit 1; }
for img in docker.io/library/golang:1.26 gcr.io/distroless/static-debian12:latest; do
	podman image exists "$img" || { echo "image-build-times: $img missing (scripts/ci/podman-setup.sh)" >&2; exit 1; }
done

go mod download
modcache=$(go env GOMODCACHE)
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"; podman rmi "$TAG" >/dev/null 2>&1 || true' EXIT
git ls-files -z -- Dockerfile .dockerignore go.mod go.sum cmd internal |
	while IFS= read -r -d '' f; do
		[ -e "$f" ] || continue
		mkdir -p "$ctx/$(dirname "$f")"
		cp -p "$f" "$ctx/$f"
	done

# The Go build cache mount would survive --no-cache and make "cold" warm (a
# runner has none): measured without it.
sed -i 's#^RUN --mount=type=cache,target=/root/.cache/go-build #RUN #' "$ctx/Dockerfile"
if grep -q -- '--mount=type=cache' "$ctx/Dockerfile"; then
	echo "image-build-times: the Dockerfile's cache mount is still there" >&2
	exit 1
fi
# The Dockerfile's base images are pinned by digest; point them at the stand-ins.
STANDINS=(--build-arg GO_IMAGE=docker.io/library/golang:1.26
	--build-arg BASE_IMAGE=gcr.io/distroless/static-debian12:latest)
results=()
measure() { # label podman-build-args...
	local label=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	podman build --pull=never "${STANDINS[@]}" "$@" -t "$TAG" "$ctx" >"$ctx.$label.log" 2>&1 ||
		{ cat "$ctx.$label.log" >&2; rm -f "$ctx.$label.log"; exit 1; }
	t1=$(date +%s.%N)
	rm -f "$ctx.$label.log"
	results+=("$(printf '%-11s %6.1f s' "$label" "$(awk "BEGIN{print $t1 - $t0}")")")
	echo "image-build-times: ${results[-1]}" >&2
}
mounted=(--network=none -v "$modcache:/go/pkg/mod:ro")

measure cold --no-cache "${mounted[@]}"
# A --no-cache build leaves no layers a later build reuses (podman 4.3): one
# ordinary build fills the layer cache before the warm measurements.
podman build --pull=never "${mounted[@]}" -t "$TAG" "$ctx" >/dev/null 2>&1
measure warm "${mounted[@]}"
touch "$ctx/cmd/clawdinator-bundle/main.go"
measure touch "${mounted[@]}"
printf '\n// edited by image-build-times.sh\n' >>"$ctx/cmd/clawdinator-bundle/main.go"
measure edit "${mounted[@]}"
if [ "${MEASURE_PROXY:-}" = 1 ]; then
	measure cold-proxy --no-cache --network=host
fi
size=$(podman image inspect --format '{{.Size}}' "$TAG")

echo
echo "clawdinator-bundle image build ($(nproc) cores, $(podman --version))"
printf '%s\n' "${results[@]}"
printf '%-11s %6.1f MB (%s bytes)\n' size "$(awk "BEGIN{print $size / 1000000}")" "$size"
