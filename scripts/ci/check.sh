#!/usr/bin/env bash
# Static checks: gofmt, go vet, staticcheck (also with the test-only build
# tags, and of scripts/release/registry's module), cross builds and vets for
# darwin and windows, actionlint (scripts/ci/lint-workflows.sh), and
# ShellCheck on the CI scripts. Fails on any finding.
set -euo pipefail
cd "$(dirname "$0")/../.."
PATH="$(go env GOPATH)/bin:$PATH"
export PATH

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt: these files need gofmt -w:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
staticcheck ./...
# The tagged builds (scripts/ci/test.sh runs their tests) and
# scripts/release/registry, a module of its own.
go vet -tags faults,keyscanbench ./...
staticcheck -tags faults,keyscanbench ./...
(cd scripts/release/registry && go vet ./... && staticcheck ./...)
# Builds where operators work: the product builds, and every package with
# its tests vets, on macOS and Windows too (install refuses to run anywhere
# but on Linux; tests that need Unix or Linux say so in a build constraint).
for target in darwin/amd64 darwin/arm64 windows/amd64; do
	GOOS=${target%/*} GOARCH=${target#*/} go build ./...
	GOOS=${target%/*} GOARCH=${target#*/} go vet ./...
done
scripts/ci/lint-workflows.sh
if command -v shellcheck >/dev/null; then
	shellcheck -S warning .ci/run scripts/ci/*.sh scripts/release/*.sh host/testdata/image.sh host/testdata/standin/agenix
elif [ "${CI:-}" = true ]; then
	echo "check.sh: shellcheck missing (scripts/ci/install.sh)" >&2
	exit 1
fi
echo "check.sh: gofmt, go vet, staticcheck, cross builds, actionlint, shellcheck clean" >&2
