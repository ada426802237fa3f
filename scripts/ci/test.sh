#!/usr/bin/env bash
# The test command: install what the tests use (scripts/ci/install.sh; skip
# with SKIP_INSTALL=1), static checks, then every Go test with the race
# detector. Tests use real tools (versitygw, age, tar, zstd, /usr/bin/aws,
# podman, act); with CI=true a missing one fails the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d /usr/local/go/bin ] && export PATH="$PATH:/usr/local/go/bin"
t0=$SECONDS
if [ "${SKIP_INSTALL:-}" != 1 ]; then
	scripts/ci/install.sh
fi
PATH="$(go env GOPATH)/bin:$PATH"
export PATH
export DOCKER_HOST=${DOCKER_HOST:-unix:///run/podman/podman.sock}
export ACT_DISABLE_VERSION_CHECK=1 # else act asks api.nektosact.com for notices

scripts/ci/check.sh
go test -race -count=1 ./...
# Test files built only with a tag (//go:build faults: internal/faults'
# fault and kill points; keyscanbench: the deep scan's benchmark modes,
# internal/bundle/archive_keyscanbench.go): their packages run again with
# the tags, so every test runs.
mapfile -t tagged < <(grep -rlE --include='*_test.go' '^//go:build .*(faults|keyscanbench)' cmd internal | xargs -r -n1 dirname | sort -u | sed 's|^|./|')
if [ ${#tagged[@]} -gt 0 ]; then
	go test -race -count=1 -tags faults,keyscanbench "${tagged[@]}"
fi
# scripts/release/registry is a module of its own (go-containerregistry
# stays out of the product's go.mod).
(cd scripts/release/registry && go test -race -count=1 ./...)
echo "test.sh: all passed in $((SECONDS - t0))s" >&2
