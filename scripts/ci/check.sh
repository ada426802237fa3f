#!/usr/bin/env bash
# Static checks: gofmt, go vet, staticcheck, actionlint (scripts/ci/lint-workflows.sh),
# and ShellCheck on the CI scripts. Fails on any finding.
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
scripts/ci/lint-workflows.sh
if command -v shellcheck >/dev/null; then
	shellcheck -S warning .ci/run scripts/ci/*.sh scripts/release/*.sh
elif [ "${CI:-}" = true ]; then
	echo "check.sh: shellcheck missing (scripts/ci/install.sh)" >&2
	exit 1
fi
echo "check.sh: gofmt, go vet, staticcheck, actionlint, shellcheck clean" >&2
