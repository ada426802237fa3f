#!/usr/bin/env bash
# End-to-end proof that containers work here, without pulling anything:
#  A. podman builds testdata/container/smoke (multi-stage: golang:1.26 stand-in
#     -> distroless stand-in) with the module cache mounted read-only and no
#     network, and runs it.
#  B. act runs testdata/container/smoke-workflow.yml in container mode through
#     podman's Docker API: `actions/checkout@v4` (act copies the work tree
#     itself; nothing is fetched), `run:` steps in sh and bash, and a local
#     Docker action (`uses: ./testdata/container/smoke-action`) that act builds
#     through the API, whose output reaches a later step.
#  C. In a scratch git repo whose root is a Docker action (like this project's
#     `uses: ./`): the image is prebuilt with podman and tagged
#     act-dockeraction:latest, and act runs it with --rebuild=false (the root
#     Dockerfile would fail if act built it).
# Exits non-zero on any failure. Needs scripts/ci/podman-setup.sh first (it is
# run here, idempotent).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
PATH="$(go env GOPATH)/bin:$PATH"
export PATH
export DOCKER_HOST=${DOCKER_HOST:-unix:///run/podman/podman.sock}
export ACT_DISABLE_VERSION_CHECK=1 # else act asks api.nektosact.com for notices
RUNNER_IMAGE=${RUNNER_IMAGE:-localhost/act-runner:latest}
SMOKE_IMAGE=localhost/clawdinator-smoke:latest
ACT_FLAGS=(-P "ubuntu-latest=$RUNNER_IMAGE" --pull=false --container-daemon-socket=-)

say() { printf '\n== act-smoke: %s\n' "$*" >&2; }
die() { printf 'act-smoke: FAIL: %s\n' "$*" >&2; exit 1; }
command -v act >/dev/null || die "act not on PATH (go install github.com/nektos/act@v0.2.89)"

scripts/ci/podman-setup.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say "A. podman build (module cache mounted, --network=none, --pull=never)"
( cd testdata/container/smoke && go mod download )
start=$SECONDS
podman build --pull=never --network=none \
	-v "$(go env GOMODCACHE):/go/pkg/mod:ro" \
	-t "$SMOKE_IMAGE" testdata/container/smoke >"$tmp/build.log" 2>&1 ||
	{ cat "$tmp/build.log" >&2; die "podman build"; }
echo "podman build: $((SECONDS - start))s" >&2
out=$(podman run --rm "$SMOKE_IMAGE" one two)
echo "$out"
[[ $out == 'hello from clawdinator-smoke ('*'uid 0, args ["one" "two"])' ]] || die "podman run output: $out"

say "B. act: checkout + run steps + local docker action built through the API"
start=$SECONDS
act workflow_dispatch -W testdata/container/smoke-workflow.yml "${ACT_FLAGS[@]}" 2>&1 | tee "$tmp/act-b.log" >&2 ||
	die "act (B) exited non-zero"
echo "act B: $((SECONDS - start))s" >&2
grep -q 'Job succeeded' "$tmp/act-b.log" || die "act (B): no 'Job succeeded'"
grep -q 'greeting=hello-act' "$tmp/act-b.log" || die "act (B): docker action did not run"
grep -q 'echo output: hello-act' "$tmp/act-b.log" || die "act (B): action output did not reach the job"

say "C. act: root action (uses: ./) prebuilt by podman, --rebuild=false"
repo=$tmp/repo
mkdir -p "$repo/.github/workflows"
cp testdata/container/smoke-action/action.yml "$repo/action.yml"
printf 'FROM scratch\nRUN act-must-not-build-this\n' >"$repo/Dockerfile"
cat >"$repo/.github/workflows/smoke.yml" <<'EOF'
name: root action
on: workflow_dispatch
jobs:
  smoke:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: me
        uses: ./
        with:
          greeting: hello-root
      - run: test "${{ steps.me.outputs.echo }}" = hello-root
EOF
git -C "$repo" init -q -b main
git -C "$repo" -c user.name=ci -c user.email=ci@localhost add -A
git -C "$repo" -c user.name=ci -c user.email=ci@localhost commit -qm smoke
# act names the image of a local Docker action act-<path with non-alnum as ->-dockeraction:latest;
# for `uses: ./` that is act-dockeraction:latest. One name for everyone: hold
# the lock internal/containertest takes too while it is ours.
exec 9>/tmp/clawdinator-act-dockeraction.lock
flock 9
podman tag "$SMOKE_IMAGE" docker.io/library/act-dockeraction:latest
start=$SECONDS
act workflow_dispatch -C "$repo" "${ACT_FLAGS[@]}" --rebuild=false 2>&1 | tee "$tmp/act-c.log" >&2 ||
	die "act (C) exited non-zero"
echo "act C: $((SECONDS - start))s" >&2
grep -q 'Job succeeded' "$tmp/act-c.log" || die "act (C): no 'Job succeeded'"
grep -q 'greeting=hello-root' "$tmp/act-c.log" || die "act (C): root docker action did not run"
if grep -q 'docker build' "$tmp/act-c.log"; then die "act (C) rebuilt the image"; fi
podman rmi docker.io/library/act-dockeraction:latest >/dev/null
flock -u 9

echo "act-smoke: OK" >&2
