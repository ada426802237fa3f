#!/usr/bin/env bash
# The pipeline that clawdinator-bundle replaces, step for step as the fleet's
# infrastructure repository (openclaw/clawdinators) runs it in CI: check that
# the required secrets exist, then for each instance copy the common secrets
# plus its own discord token, tar+zstd the secrets bundle and the repo seeds
# (GNU tar --zstd, single-threaded zstd), and upload both with the aws CLI.
# It verifies nothing after upload.
# Usage: baseline-publish.sh FIXTURE_DIR   (env: S3_BUCKET, S3_ENDPOINT, AWS_*)
set -euo pipefail
fx=$1; cd "$fx"
aws=(/usr/bin/aws --endpoint-url "$S3_ENDPOINT" --only-show-errors)
for f in clawdinator-github-app.pem.age clawdinator-anthropic-api-key.age clawdinator-openai-api-key-peter-2.age \
         clawdinator-control-token.age clawdinator-control-aws-access-key-id.age clawdinator-control-aws-secret-access-key.age \
         clawdinator-telegram-bot-token.age clawdinator-telegram-allow-from.age; do
  [ -f "nix/age-secrets/$f" ] || { echo "missing $f" >&2; exit 1; }
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for inst in $(jq -r 'keys[]' nix/instances.json); do
  prefix=$(jq -r --arg n "$inst" '.[$n].bootstrapPrefix' nix/instances.json)
  token=$(jq -r --arg n "$inst" '.[$n].discordTokenSecret' nix/instances.json)
  st="$work/$inst/staging"; mkdir -p "$st/secrets"
  rsync -a --exclude 'clawdinator-discord-token-*.age' nix/age-secrets/ "$st/secrets/"
  cp "nix/age-secrets/$token.age" "$st/secrets/"
  cp nix/keys/clawdinator.agekey "$st/clawdinator.agekey"
  tar --zstd -cf "$work/$inst/secrets.tar.zst" -C "$st" .
  tar --zstd -cf "$work/$inst/repo-seeds.tar.zst" -C repo-seeds .
  "${aws[@]}" s3 cp "$work/$inst/secrets.tar.zst" "s3://$S3_BUCKET/$prefix/secrets.tar.zst"
  "${aws[@]}" s3 cp "$work/$inst/repo-seeds.tar.zst" "s3://$S3_BUCKET/$prefix/repo-seeds.tar.zst"
done
echo "baseline: uploaded"
