#!/usr/bin/env bash
# rehearse.sh [VERSION]: the steps of .github/workflows/release.yml on this
# machine, with no network: podman instead of buildx, a registry on
# 127.0.0.1 instead of ghcr.io, act instead of a GitHub runner.
#
#   1. a temporary git worktree of HEAD: the release is built from a commit,
#      not from the work tree
#   2. podman builds linux/amd64 and linux/arm64 (cross-compiled on the build
#      platform, base images = the local stand-ins, --network=none) into one
#      manifest list, and the two bare binaries (--target binary) with
#      their SHA256SUMS
#   3. an SBOM per binary (`go version -m`: module path, version, sum)
#   4. pushes the list as one OCI index to the registry (scripts/release/registry,
#      or REHEARSE_REGISTRY=HOST:PORT when one already runs) and reads the
#      index digest back from it
#   5. the release commit in the worktree: action.yml regenerated with
#      `go run ./internal/config/gen -image docker://REGISTRY/OWNER/clawdinator-bundle@sha256:…`
#   6. act runs testdata/act/release-commit.yml (`uses: ./`) on that commit,
#      the image pulled from the registry by digest, nothing built
#   7. prints what GitHub alone does (ghcr push, keyless signature, GitHub
#      provenance, tags, the GitHub release) as "skipped here"
#
# stdout: `digest sha256:…` and `image REF@sha256:…`; progress on stderr.
# Env: REHEARSE_OUT=DIR keeps dist/ (binaries, SHA256SUMS, SBOMs), action.yml,
# index.json and act.log there (default: a temp dir, removed).
# REHEARSE_OWNER (default openclaw). REHEARSE_NO_CACHE=1 builds without
# podman's layer cache (the Go build cache mount stays). Needs podman, act, git, go, age (for the
# fixture) and the stand-in images (scripts/ci/podman-setup.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
PATH="$(go env GOPATH)/bin:$PATH"
export PATH

VERSION=${1:-v0.0.0-rehearsal}
OWNER=${REHEARSE_OWNER:-openclaw}
PLATFORMS=(linux/amd64 linux/arm64)
STANDINS=(--build-arg GO_IMAGE=docker.io/library/golang:1.26
	--build-arg BASE_IMAGE=gcr.io/distroless/static-debian12:latest)
export DOCKER_HOST=${DOCKER_HOST:-unix:///run/podman/podman.sock} ACT_DISABLE_VERSION_CHECK=1

t0=$SECONDS
say() { printf '== rehearse [%ss]: %s\n' "$((SECONDS - t0))" "$*" >&2; }
skip() { printf '== rehearse: skipped here: %s\n' "$*" >&2; }
die() { printf 'rehearse: error: %s\n' "$*" >&2; exit 1; }

[[ $VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "version $VERSION: want vX.Y.Z[-pre]"
for c in podman act git go age-keygen; do
	command -v "$c" >/dev/null || die "$c missing (scripts/ci/install.sh)"
done
# Stand-in images and podman's Docker API for act (idempotent; needs root).
if [ "$(id -u)" = 0 ]; then
	scripts/ci/podman-setup.sh
fi
for img in docker.io/library/golang:1.26 gcr.io/distroless/static-debian12:latest localhost/act-runner:latest; do
	podman image exists "$img" || die "$img missing (scripts/ci/podman-setup.sh)"
done

tmp=$(mktemp -d /var/tmp/rehearse.XXXXXX)
out=${REHEARSE_OUT:-$tmp/out}
mkdir -p "$out/dist"
list=localhost/clawdinator-bundle:rehearse-$$
LABEL=org.openclaw.clawdinator.rehearse # marks this run's images, pruned at exit
wt=$tmp/release
regpid=
cleanup() {
	[ -n "$regpid" ] && kill "$regpid" 2>/dev/null
	podman manifest rm "$list" >/dev/null 2>&1 || true
	# The list's images and the binary stages, untagged now (layers stay cached).
	podman image prune -f --filter "label=$LABEL=$$" >/dev/null 2>&1 || true
	git -C "$root" worktree remove --force "$wt" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- 1. the commit being released ---------------------------------------------
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
	say "warning: the work tree has uncommitted changes; the rehearsal releases HEAD ($(git rev-parse --short HEAD)) without them"
git worktree add -q --detach "$wt" HEAD
say "release $VERSION of $(git -C "$wt" rev-parse --short HEAD) in a temporary worktree"
skip "the tests (the workflow's test job runs scripts/ci/test.sh first)"

# --- 2. one build, both platforms ----------------------------------------------
go mod download
modcache=$(go env GOMODCACHE)
# podman 4.3 leaves BUILDPLATFORM unset in FROM lines (buildx sets it): say
# it, or `FROM --platform=$BUILDPLATFORM` looks for an arm64 golang image.
build=(podman build --pull=never --network=none -v "$modcache:/go/pkg/mod:ro"
	--label "$LABEL=$$" ${REHEARSE_NO_CACHE:+--no-cache}
	"${STANDINS[@]}" --build-arg "BUILDPLATFORM=$(go env GOOS)/$(go env GOARCH)"
	--build-arg "VERSION=$VERSION")
plat=$(IFS=,; echo "${PLATFORMS[*]}")
say "podman build --platform $plat (cross-compiled on $(go env GOOS)/$(go env GOARCH))"
"${build[@]}" --platform "$plat" --manifest "$list" "$wt" >"$tmp/build.log" 2>&1 ||
	{ tail -40 "$tmp/build.log" >&2; die "podman build"; }
for p in "${PLATFORMS[@]}"; do
	a=${p#linux/}
	"${build[@]}" --platform "$p" --target binary -o "type=local,dest=$tmp/bin-$a" "$wt" >"$tmp/build-$a.log" 2>&1 ||
		{ tail -40 "$tmp/build-$a.log" >&2; die "podman build --target binary ($p)"; }
	install -m 0755 "$tmp/bin-$a/clawdinator-bundle" "$out/dist/clawdinator-bundle-linux-$a"
done
(cd "$out/dist" && sha256sum clawdinator-bundle-linux-* >SHA256SUMS)
say "binaries: $(cd "$out/dist" && tr '\n' ' ' <SHA256SUMS)"

# --- 3. SBOM -------------------------------------------------------------------
for p in "${PLATFORMS[@]}"; do
	a=${p#linux/}
	go version -m "$out/dist/clawdinator-bundle-linux-$a" >"$out/dist/sbom-linux-$a.txt"
done
say "SBOM: go version -m of each binary (dist/sbom-linux-*.txt); GitHub: buildx's SPDX SBOM attestation"

# --- 4. push one index -----------------------------------------------------------
registry=${REHEARSE_REGISTRY:-}
if [ -z "$registry" ]; then
	go build -C scripts/release/registry -o "$tmp/registry" . # a module of its own
	"$tmp/registry" -addr-file "$tmp/registry.addr" &
	regpid=$!
	for _ in $(seq 1 100); do [ -s "$tmp/registry.addr" ] && break; sleep 0.1; done
	[ -s "$tmp/registry.addr" ] || die "the registry did not start"
	registry=$(cat "$tmp/registry.addr")
fi
repo=$registry/$OWNER/clawdinator-bundle
say "podman manifest push --all --format oci $repo:$VERSION"
podman manifest push -q --all --format oci --tls-verify=false --digestfile "$tmp/digest" \
	"$list" "docker://$repo:$VERSION" >"$tmp/push.log" 2>&1 || { cat "$tmp/push.log" >&2; die "push"; }
digest=$(cat "$tmp/digest")
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || die "push wrote digest '$digest'"
# The registry's answer, not the client's: what a puller by tag gets.
curl -fsS -H 'Accept: application/vnd.oci.image.index.v1+json' \
	"http://$registry/v2/$OWNER/clawdinator-bundle/manifests/$VERSION" >"$out/index.json"
served=sha256:$(sha256sum <"$out/index.json" | cut -d' ' -f1)
[ "$served" = "$digest" ] || die "the registry serves $served for $VERSION, push reported $digest"
say "index $repo@$digest"
skip "push to ghcr.io/$OWNER/clawdinator-bundle:$VERSION (needs GitHub's packages: write token)"
skip "cosign sign --yes ghcr.io/$OWNER/clawdinator-bundle@$digest (keyless: needs GitHub OIDC)"
skip "actions/attest-build-provenance and buildx provenance for the index (needs GitHub OIDC)"

# --- 5. the release commit -----------------------------------------------------------
(cd "$wt" && go run ./internal/config/gen -image "docker://$repo@$digest")
cp "$wt/action.yml" "$out/action.yml"
git -C "$wt" -c user.name=rehearse -c user.email=rehearse@localhost commit -q -am "release $VERSION: action.yml runs the image by digest"
say "release commit $(git -C "$wt" rev-parse --short HEAD): $(grep '^  image: ' "$wt/action.yml")"
skip "tag $VERSION (created once), move ${VERSION%%.*}, GitHub release with dist/ (needs the repository's contents: write token)"

# --- 6. act runs the release commit's action --------------------------------------------
# act copies a plain repository's work tree for actions/checkout: a clone of
# the release commit, plus a fixture and the one workflow.
repoact=$tmp/act
git clone -q "$wt" "$repoact"
rm -rf "$repoact/.github/workflows"
mkdir -p "$repoact/.github/workflows"
cp testdata/act/release-commit.yml "$repoact/.github/workflows/"
scripts/ci/gen-fixture.sh "$repoact/fixture" >/dev/null
git -C "$repoact" add -A
git -C "$repoact" -c user.name=rehearse -c user.email=rehearse@localhost commit -q -m fixture
# From the registry: no local copy of the repository's images survives, then
# podman pulls by digest (act runs with --pull=false).
podman images --format '{{.Repository}}@{{.Digest}}' | grep -F "$repo@" | xargs -r podman rmi -f >/dev/null 2>&1 || true
podman pull -q --tls-verify=false "$repo@$digest" >/dev/null
say "act: uses: ./ on the release commit (image pulled by digest)"
secret=$(grep '^AGE-SECRET-KEY-' "$repoact/fixture/age.key")
set +e
(cd "$repoact" && CLAWDINATOR_AGE_KEY=$secret act workflow_dispatch \
	-W .github/workflows/release-commit.yml -P ubuntu-latest=localhost/act-runner:latest \
	--pull=false --container-daemon-socket=- -s CLAWDINATOR_AGE_KEY \
	--var "EXPECTED_RECIPIENT=$(cat fixture/recipient)" --var "RELEASE_VERSION=$VERSION") >"$out/act.log" 2>&1
status=$?
set -e
podman rmi -f "$repo@$digest" >/dev/null 2>&1 || true
if [ "$status" != 0 ] || ! grep -q 'Job succeeded' "$out/act.log"; then
	tail -40 "$out/act.log" >&2
	die "act exited $status"
fi
if grep -qiE 'docker build|Building image' "$out/act.log"; then
	die "act built an image; the release commit must run the pushed one"
fi
grep -q "release commit: assembled by clawdinator-bundle $VERSION from the image by digest" "$out/act.log" ||
	die "act log lacks the released version's line"
say "act: the release commit's action ran $repo@$digest, nothing built"

printf 'digest %s\nimage %s@%s\n' "$digest" "$repo" "$digest"
say "done"
