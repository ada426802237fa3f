#!/usr/bin/env bash
# gen-fixture.sh DIR: a throwaway workload for the action, made with the age
# CLI only (no Go), for the `action` job of .github/workflows/ci.yml and its
# local twin internal/containertest (TestImageAssemblesCIFixture).
#
# Writes, under DIR:
#   age.key, recipient           a fresh age identity and its age1… recipient
#   nix/age-secrets/*.age        the eight required host secrets, one discord
#                                token per instance, one CI-only image secret
#                                (excluded by default, so the run warns)
#   nix/instances.json           clawdinator-1 and clawdinator-2
#   repo-seeds/                  a small tree with an executable and a
#                                relative symlink
set -euo pipefail
dir=${1:?usage: gen-fixture.sh DIR}
for c in age age-keygen; do
	command -v "$c" >/dev/null || { echo "gen-fixture.sh: needs $c (apt-get install age)" >&2; exit 1; }
done

mkdir -p "$dir/nix/age-secrets" "$dir/repo-seeds/openclaw/scripts"
rm -f "$dir/age.key"
age-keygen -o "$dir/age.key" 2>/dev/null
age-keygen -y "$dir/age.key" >"$dir/recipient"
recipient=$(cat "$dir/recipient")

secrets=(
	clawdinator-github-app.pem
	clawdinator-anthropic-api-key
	clawdinator-openai-api-key-peter-2
	clawdinator-control-token
	clawdinator-control-aws-access-key-id
	clawdinator-control-aws-secret-access-key
	clawdinator-telegram-bot-token
	clawdinator-telegram-allow-from
	clawdinator-discord-token-1
	clawdinator-discord-token-2
	clawdinator-image-bucket-name
)
for s in "${secrets[@]}"; do
	printf 'fixture value of %s\n' "$s" | age -r "$recipient" -o "$dir/nix/age-secrets/$s.age"
done

cat >"$dir/nix/instances.json" <<'EOF'
{
  "clawdinator-1": {
    "host": "clawdinator-1",
    "bootstrapPrefix": "bootstrap/clawdinator-1",
    "discordTokenSecret": "clawdinator-discord-token-1"
  },
  "clawdinator-2": {
    "host": "clawdinator-2",
    "bootstrapPrefix": "bootstrap/clawdinator-2",
    "discordTokenSecret": "clawdinator-discord-token-2"
  }
}
EOF

printf '# openclaw\n' >"$dir/repo-seeds/openclaw/README.md"
printf '#!/bin/sh\necho hello\n' >"$dir/repo-seeds/openclaw/scripts/run.sh"
chmod 0755 "$dir/repo-seeds/openclaw/scripts/run.sh"
ln -sfn README.md "$dir/repo-seeds/openclaw/README.link"
echo "gen-fixture.sh: wrote $dir (recipient $recipient)" >&2
