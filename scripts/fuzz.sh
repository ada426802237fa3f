#!/usr/bin/env bash
# Runs every fuzz target for a set time (FUZZTIME, default 60s) and prints
# how long each ran clean. Seed corpora also run as ordinary tests in
# `go test ./...`; this script explores beyond them.
#   scripts/fuzz.sh              # every target, 60s each
#   FUZZTIME=5m scripts/fuzz.sh ./internal/bundle
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-60s}
pkgs=("${@:-./...}")
status=0
for pkg in $(go list "${pkgs[@]}"); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
		start=$SECONDS
		if go test -run='^$' -fuzzminimizetime=5s -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" >/tmp/fuzz-"$target".log 2>&1; then
			echo "fuzz: $pkg $target ran clean for $((SECONDS - start))s ($(grep -o 'execs: [0-9]*' /tmp/fuzz-"$target".log | tail -1))"
		else
			echo "fuzz: $pkg $target FAILED after $((SECONDS - start))s; see /tmp/fuzz-$target.log and testdata/fuzz/$target" >&2
			status=1
		fi
	done
done
exit $status
