#!/usr/bin/env bash
# Static checks: gofmt, go vet, staticcheck, actionlint. Fails on any finding.
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
workflows=()
for f in .github/workflows/*.yml .github/workflows/*.yaml examples/*.yml examples/*.yaml testdata/container/*.yml; do
	[ -f "$f" ] && workflows+=("$f")
done
if [ ${#workflows[@]} -gt 0 ]; then
	actionlint "${workflows[@]}"
fi
echo "check.sh: gofmt, go vet, staticcheck, actionlint clean" >&2
