#!/usr/bin/env bash
# Static checks: gofmt, go vet, staticcheck, actionlint (scripts/ci/lint-workflows.sh).
# Fails on any finding.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$(go env GOPATH)/bin:$PATH"

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt: these files need gofmt -w:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
staticcheck ./...
scripts/ci/lint-workflows.sh
echo "check.sh: gofmt, go vet, staticcheck, actionlint clean" >&2
