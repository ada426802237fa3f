#!/usr/bin/env bash
# notes.sh vX.Y.Z: print the `## vX.Y.Z` section of CHANGELOG.md (its body,
# without the heading), the GitHub release's notes. Fails when the section is
# missing or empty: a version is not released without notes.
set -euo pipefail
version=${1:?usage: notes.sh vX.Y.Z}
changelog=${CHANGELOG:-$(dirname "$0")/../../CHANGELOG.md}
notes=$(awk -v v="$version" '
	/^## / { if (on) exit; h = $2; sub(/^\[/, "", h); sub(/\]$/, "", h); on = (h == v); next }
	on { print }
' "$changelog" | sed -e '/./,$!d')
if [ -z "$(tr -d '[:space:]' <<<"$notes")" ]; then
	echo "notes.sh: CHANGELOG.md has no section '## $version' (or it is empty)" >&2
	exit 1
fi
printf '%s\n' "$notes"
