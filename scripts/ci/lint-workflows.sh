#!/usr/bin/env bash
# actionlint on every workflow file, with each use of this action checked
# against our action.yml:
#
#  - .github/workflows/*.yml in place (they use the action as `uses: ./`);
#    every other `uses:` there must be pinned by commit SHA;
#  - examples/*.yml with `uses: openclaw/clawdinator-bundle@v1` and the
#    prebuilt-image form `uses: docker://ghcr.io/openclaw/clawdinator-bundle@sha256:<digest>`
#    rewritten to `uses: ./`, testdata/act/*.yml and testdata/container/*.yml, all inside a
#    temporary copy of the repository (a git repo with action.yml and the
#    Dockerfile at its root: actionlint resolves `uses: ./` only inside a
#    project, and reads the action's inputs from its action.yml), so every
#    `with:` key must be an input of action.yml.
#
# Self-check first: in another temporary copy, a workflow that passes an
# input action.yml does not declare must make actionlint fail, and the same
# workflow with the input spelled right must pass. Without that, a change in
# how actionlint finds local actions would silently turn the checks off.
#
# actionlint runs shellcheck on `run:` scripts when it is installed
# (scripts/ci/install.sh installs it).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
PATH="$(go env GOPATH)/bin:$PATH"
export PATH
command -v actionlint >/dev/null || { echo "lint-workflows: actionlint not on PATH (scripts/ci/install.sh)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# project DIR: an empty repository whose root is this action.
project() {
	mkdir -p "$1/.github/workflows"
	cp action.yml Dockerfile "$1/"
	git -C "$1" init -q
}

# --- self-check ------------------------------------------------------------------
project "$tmp/self"
wf() { # input-name
	cat <<EOF
name: self-check
on: workflow_dispatch
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        with:
          $1: publish
EOF
}
wf mode >"$tmp/self/.github/workflows/good.yml"
wf no-such-input >"$tmp/self/.github/workflows/bad.yml"
if ! (cd "$tmp/self" && actionlint .github/workflows/good.yml) >"$tmp/self.log" 2>&1; then
	cat "$tmp/self.log" >&2
	echo "lint-workflows: self-check: a valid input failed actionlint" >&2
	exit 1
fi
if (cd "$tmp/self" && actionlint .github/workflows/bad.yml) >"$tmp/self.log" 2>&1 ||
	! grep -q 'input "no-such-input" is not defined' "$tmp/self.log"; then
	cat "$tmp/self.log" >&2
	echo "lint-workflows: self-check: actionlint did not reject an input action.yml does not declare" >&2
	exit 1
fi

# --- the repository's own workflows, in place ----------------------------------------
status=0
n=0
for f in .github/workflows/*.yml .github/workflows/*.yaml; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	actionlint "$f" || status=1
done

# The workflows run with the repository's token, and the release workflow
# handles the signing identity and pushes the image the fleet's key goes
# into: every action they use is pinned by commit SHA, with the version in a
# comment (Dependabot updates both). `uses: ./` is the action itself.
for wf in .github/workflows/*.yml; do
	unpinned=$(grep -nE '^[[:space:]]*(-[[:space:]]+)?uses:' "$wf" |
		grep -vE 'uses: ([A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40} # v[0-9]+(\.[0-9]+)*|\./)$' || true)
	if [ -n "$unpinned" ]; then
		echo "lint-workflows: $wf: actions not pinned by commit SHA (uses: OWNER/REPO@<40 hex> # vX.Y.Z):" >&2
		echo "$unpinned" >&2
		status=1
	fi
	grep -qE '^[[:space:]]*(-[[:space:]]+)?uses:' "$wf" ||
		{ echo "lint-workflows: $wf: no uses: lines found (pattern broken?)" >&2; status=1; }
done

# --- examples and test workflows, in a copy ---------------------------------------------
copy=$tmp/copy
project "$copy"
mkdir -p "$copy/testdata/container"
cp -R testdata/container/smoke-action "$copy/testdata/container/" # uses: ./testdata/container/smoke-action
declare -A origin
for f in examples/*.yml testdata/act/*.yml testdata/container/*.yml; do
	[ -f "$f" ] || continue
	dst=.github/workflows/$(echo "${f%.yml}" | tr / -).yml
	origin[$dst]=$f
	case $f in
	examples/*)
		# The prebuilt-image form, docker://…@sha256:<digest>, is the same
		# action: its inputs are checked like those of @v1.
		if ! grep -qE 'uses: (openclaw/clawdinator-bundle@v1|docker://ghcr\.io/openclaw/clawdinator-bundle@sha256:<digest>)$' "$f"; then
			echo "lint-workflows: $f does not use openclaw/clawdinator-bundle@v1 (or docker://ghcr.io/openclaw/clawdinator-bundle@sha256:<digest>)" >&2
			status=1
		fi
		sed -e 's#uses: openclaw/clawdinator-bundle@v1$#uses: ./#' \
			-e 's#uses: docker://ghcr\.io/openclaw/clawdinator-bundle@sha256:<digest>$#uses: ./#' "$f" >"$copy/$dst"
		if grep -n 'openclaw/clawdinator-bundle@' "$copy/$dst" >&2; then
			echo "lint-workflows: $f: a use of the action other than 'uses: openclaw/clawdinator-bundle@v1' (not checked against action.yml)" >&2
			status=1
		fi
		;;
	*) cp "$f" "$copy/$dst" ;;
	esac
done
for dst in "${!origin[@]}"; do
	n=$((n + 1))
	if ! (cd "$copy" && actionlint "$dst") >"$tmp/out" 2>&1; then
		echo "lint-workflows: ${origin[$dst]} (checked as $dst in a copy where the action is uses: ./):" >&2
		cat "$tmp/out" >&2
		status=1
	fi
done
[ "$status" = 0 ] && echo "lint-workflows: $n workflow files clean (inputs checked against action.yml)" >&2
exit "$status"
