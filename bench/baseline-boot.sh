#!/usr/bin/env bash
# The boot script's steps, as docs/host.md describes them: the reference
# `clawdinator-bundle install` is measured against. It fetches each object
# as it is current, checks nothing, and installs into the host paths given.
# Usage: baseline-boot.sh BUCKET PREFIX SECRETS_DIR REPO_SEEDS_DIR AGE_KEY_PATH
#   (env: S3_ENDPOINT, AWS_*)
set -euo pipefail
BUCKET=$1 PREFIX=$2 SECRETS_DIR=$3 REPO_SEEDS_DIR=$4 AGE_KEY_PATH=$5
aws=(/usr/bin/aws --endpoint-url "$S3_ENDPOINT" --only-show-errors)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"${aws[@]}" s3 cp "s3://$BUCKET/$PREFIX/secrets.tar.zst" "$tmp/secrets.tar.zst"
"${aws[@]}" s3 cp "s3://$BUCKET/$PREFIX/repo-seeds.tar.zst" "$tmp/repo-seeds.tar.zst"
mkdir -p "$tmp/x"
tar --zstd -xf "$tmp/secrets.tar.zst" -C "$tmp/x"
[ -f "$tmp/x/clawdinator.agekey" ] && [ -d "$tmp/x/secrets" ]
mkdir -p "$(dirname "$AGE_KEY_PATH")" "$SECRETS_DIR" "$REPO_SEEDS_DIR"
install -m 0400 "$tmp/x/clawdinator.agekey" "$AGE_KEY_PATH"
cp -a "$tmp/x/secrets/." "$SECRETS_DIR/"
chmod -R u=rw,go= "$SECRETS_DIR"
tar --zstd -xf "$tmp/repo-seeds.tar.zst" -C "$REPO_SEEDS_DIR"
printf '%s' "$PREFIX" >"$SECRETS_DIR/.bootstrap-prefix"
touch "$SECRETS_DIR/.bootstrap-ok"
