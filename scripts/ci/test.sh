#!/usr/bin/env bash
# The test command: static checks, then every Go test with the race detector.
# Tests use real tools (versitygw, age, tar, zstd, /usr/bin/aws, podman, act):
# run .ci/run once on a new machine to install them.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$(go env GOPATH)/bin:$PATH"
export DOCKER_HOST=${DOCKER_HOST:-unix:///run/podman/podman.sock}
export ACT_DISABLE_VERSION_CHECK=1 # else act asks api.nektosact.com for notices

scripts/ci/check.sh
go test -race -count=1 ./...
