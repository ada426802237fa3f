#!/usr/bin/env bash
# Builds a realistic publish workload in $1 (default /tmp/cb-fixture):
# an age identity, the host secrets of docs/bundle.md (8 common + one discord
# token per instance + CI-only files that must never reach a host),
# instances.json with three instances, and a repo-seeds tree of real source
# code plus an incompressible pack file, about 220 MB (SEEDS_MB sets the pack
# size).
# Needs: age, age-keygen (Debian package age), jq, a Go toolchain.
set -euo pipefail
out=${1:-/tmp/cb-fixture}
seeds_mb=${SEEDS_MB:-64}
rm -rf "$out"; mkdir -p "$out/nix/keys" "$out/nix/age-secrets" "$out/repo-seeds"
cd "$out"
age-keygen -o nix/keys/clawdinator.agekey 2>/dev/null
recipient=$(age-keygen -y nix/keys/clawdinator.agekey)
other=$(age-keygen 2>/dev/null | age-keygen -y)
enc() { printf '%s' "$2" | age -r "$recipient" -r "$other" -o "nix/age-secrets/$1"; }
for s in clawdinator-github-app.pem clawdinator-anthropic-api-key clawdinator-openai-api-key-peter-2 \
         clawdinator-control-token clawdinator-control-aws-access-key-id clawdinator-control-aws-secret-access-key \
         clawdinator-telegram-bot-token clawdinator-telegram-allow-from \
         clawdinator-discord-token-1 clawdinator-discord-token-2 clawdinator-discord-token-babelfish; do
  enc "$s.age" "PLAINTEXT-CANARY-$s-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
done
# CI-only secrets that live beside the host secrets and must never ship to a host
for s in clawdinator-image-uploader-access-key-id clawdinator-image-uploader-secret-access-key \
         clawdinator-image-bucket-name clawdinator-image-bucket-region; do
  enc "$s.age" "PLAINTEXT-CANARY-$s"
done
cat > nix/instances.json <<'J'
{
  "clawdinator-1": {"host": "clawdinator-1", "instanceType": "t3.large", "bootstrapPrefix": "bootstrap/clawdinator-1", "discordTokenSecret": "clawdinator-discord-token-1"},
  "clawdinator-2": {"host": "clawdinator-2", "instanceType": "t3.large", "bootstrapPrefix": "bootstrap/clawdinator-2", "discordTokenSecret": "clawdinator-discord-token-2"},
  "clawdinator-babelfish": {"host": "clawdinator-babelfish", "instanceType": "t3.small", "bootstrapPrefix": "bootstrap/clawdinator-babelfish", "discordTokenSecret": "clawdinator-discord-token-babelfish"}
}
J
# repo seeds: real source trees (shallow-clone-like) plus packed history
for r in openclaw nix-openclaw; do
  mkdir -p "repo-seeds/$r/.git/objects/pack"
done
goroot=$(go env GOROOT)
cp -a "$goroot/src/." repo-seeds/openclaw/
cp -a "$goroot/src/net" repo-seeds/nix-openclaw/
head -c "${seeds_mb}M" /dev/urandom > repo-seeds/openclaw/.git/objects/pack/pack-0001.pack
printf 'ref: refs/heads/main\n' > repo-seeds/openclaw/.git/HEAD
printf 'ref: refs/heads/main\n' > repo-seeds/nix-openclaw/.git/HEAD
ln -s README repo-seeds/openclaw/README.link
du -sh repo-seeds >&2
echo "$recipient"
