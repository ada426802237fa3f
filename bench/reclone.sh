#!/usr/bin/env bash
# Two measurements of what an unchanged bundle costs, each a ratio against
# a reference taken in the same run, against one versitygw bucket. Not a
# test: it prints medians and ratios.
#
# 1. Re-clone: the fleet clones its repositories afresh (git clone --depth
#    1) on every run. The repo-seeds tree is a real shallow clone of a
#    local upstream (Go's runtime, go/ and cmd/compile sources and a 32 MiB
#    incompressible file, one commit); before each timed publish it is
#    cloned again and repacked with other settings, so its pack files
#    differ in name and bytes while the commit is the same. Reference: the
#    shell pipeline (bench/baseline-publish.sh) on the same tree. Goal:
#    <= 0.1.
# 2. Fleet scale: FLEET instances (default 1000), 8 common secrets and a
#    token each, 1 MiB of repo seeds. An unchanged re-publish against a
#    full publish of the same fleet (every bundle removed first). Goal:
#    <= 0.25.
#
#   RUNS=3 FLEET_RUNS=2 FLEET=1000 bench/reclone.sh
#
# Needs: versitygw, /usr/bin/aws, git, GNU tar, zstd, age, age-keygen, jq,
# rsync (scripts/ci/install.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
gopath=$(go env GOPATH)
export PATH="$gopath/bin:$PATH"
RUNS=${RUNS:-3}
FLEET=${FLEET:-1000}
FLEET_RUNS=${FLEET_RUNS:-2}
work=$(mktemp -d /tmp/cb-bench-reclone.XXXXXX)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
cleanup() { stop_versitygw; rm -rf "$work"; }
trap cleanup EXIT

log "== building clawdinator-bundle"
go build -trimpath -o "$work/cb" ./cmd/clawdinator-bundle

start_versitygw

# ours DIR [flags...]: publish the fixture in DIR, print seconds.
ours() {
	local dir=$1; shift
	local t0; t0=$(now)
	(cd "$dir" && CLAWDINATOR_PROGRESS=0 "$work/cb" publish --age-key-file nix/keys/clawdinator.agekey \
		--s3-bucket "$S3_BUCKET" --s3-endpoint "$S3_ENDPOINT" --json "$@" >"$work/ours.json" 2>"$work/ours.log") \
		|| { cat "$work/ours.log" >&2; exit 1; }
	elapsed "$t0"
}

log "== 1. re-clone: the workload"
SEEDS_MB=1 bash "$repo/bench/make-fixture.sh" "$work/fx" >/dev/null 2>"$work/fixture.log"
rm -rf "$work/fx/repo-seeds"
up=$work/upstream
mkdir -p "$up"
goroot=$(go env GOROOT)
cp -a "$goroot/src/runtime" "$goroot/src/go" "$up/"
mkdir -p "$up/cmd" && cp -a "$goroot/src/cmd/compile" "$up/cmd/"
head -c 32M /dev/urandom >"$up/blob.bin"
g() { git -c user.name=bench -c user.email=bench@example.org -c init.defaultBranch=main "$@"; }
g -C "$up" init -q && g -C "$up" add -A && g -C "$up" commit -qm "the commit every clone checks out"
# reclone N: a fresh shallow clone, repacked with settings N
reclone() {
	rm -rf "$work/fx/repo-seeds"
	mkdir -p "$work/fx/repo-seeds"
	g clone -q --depth 1 "file://$up" "$work/fx/repo-seeds/upstream"
	g -C "$work/fx/repo-seeds/upstream" -c repack.updateServerInfo=false repack -q -adf --window="$((5 + $1))" --depth="$((10 + $1))"
	sha256sum "$work"/fx/repo-seeds/upstream/.git/objects/pack/*.pack | cut -c1-12
}
reclone 0 >"$work/packs"
du -sh "$work/fx/repo-seeds" >&2

baseline() {
	local t0; t0=$(now)
	(bash "$repo/bench/baseline-publish.sh" "$work/fx" >/dev/null 2>"$work/base.log") || { cat "$work/base.log" >&2; exit 1; }
	elapsed "$t0"
}
log "== 1. baseline, $RUNS runs"
: >"$work/t_base"
for i in $(seq "$RUNS"); do baseline >>"$work/t_base"; done
tb=$(median <"$work/t_base")

log "== 1. ours: one full publish, then $RUNS re-clones each followed by a publish"
ours "$work/fx" >/dev/null
versions() {
	"${aws[@]}" s3api list-object-versions --bucket "$S3_BUCKET" --prefix bootstrap/clawdinator-1/repo-seeds.tar.zst \
		--query 'length(Versions)' --output text
}
seeds_before=$(versions)
: >"$work/t_reclone"
for i in $(seq "$RUNS"); do
	reclone "$i" >>"$work/packs"
	ours "$work/fx" >>"$work/t_reclone"
	jq -r '[.instances[].objects[].status] | group_by(.) | map("\(.[0])=\(length)") | join(" ")' "$work/ours.json" >>"$work/statuses"
done
tr=$(median <"$work/t_reclone")
packs=$(sort -u "$work/packs" | wc -l)
seeds_after=$(versions)

log "== 2. fleet: $FLEET instances, 8 common secrets and a token each, 1 MiB of repo seeds"
fl=$work/fleet
mkdir -p "$fl/nix" "$fl/repo-seeds/data"
cp -a "$work/fx/nix/keys" "$fl/nix/"
mkdir -p "$fl/nix/age-secrets"
for s in clawdinator-github-app.pem clawdinator-anthropic-api-key clawdinator-openai-api-key-peter-2 \
	clawdinator-control-token clawdinator-control-aws-access-key-id clawdinator-control-aws-secret-access-key \
	clawdinator-telegram-bot-token clawdinator-telegram-allow-from; do
	cp "$work/fx/nix/age-secrets/$s.age" "$fl/nix/age-secrets/"
done
recipient=$(age-keygen -y "$fl/nix/keys/clawdinator.agekey")
jq -n --argjson n "$FLEET" '[range(1; $n + 1)] | map({("fleet-\(.)"): {bootstrapPrefix: "bootstrap/fleet-\(.)", discordTokenSecret: "clawdinator-discord-token-fleet-\(.)"}}) | add' >"$fl/nix/instances.json"
for n in $(seq "$FLEET"); do
	printf 'PLAINTEXT-CANARY-token-%s' "$n" | age -r "$recipient" -o "$fl/nix/age-secrets/clawdinator-discord-token-fleet-$n.age"
done
head -c 1M /dev/urandom >"$fl/repo-seeds/data/blob.bin"
: >"$work/t_full"; : >"$work/t_unch"
for i in $(seq "$FLEET_RUNS"); do
	# Force full uploads: nothing current under the prefixes.
	"${aws[@]}" --only-show-errors s3 rm --recursive "s3://$S3_BUCKET/bootstrap/" >/dev/null
	f=$(ours "$fl"); echo "$f" >>"$work/t_full"
	full_statuses=$(jq -r '[.instances[].objects[].status] | group_by(.) | map("\(.[0])=\(length)") | join(" ")' "$work/ours.json")
	[ "$full_statuses" = "uploaded=$((2 * FLEET))" ] || { log "the full publish was not full: $full_statuses"; exit 1; }
	u=$(ours "$fl"); echo "$u" >>"$work/t_unch"
	unch_statuses=$(jq -r '[.instances[].objects[].status] | group_by(.) | map("\(.[0])=\(length)") | join(" ")' "$work/ours.json")
	log "  run $i: full ${f}s ($full_statuses)  unchanged ${u}s ($unch_statuses)"
done
tfull=$(median <"$work/t_full")
tunch=$(median <"$work/t_unch")

cat <<REPORT

unchanged bundles ($RUNS re-clone runs, $FLEET_RUNS fleet runs, medians, seconds; $(nproc) cores)
  1. repo-seeds: a shallow clone, $(du -sh "$work/fx/repo-seeds" | cut -f1); $packs distinct pack files over $((RUNS + 1)) clones
     baseline publish (3 instances)                    $tb
     ours, publish after re-cloning (same commit)      $tr   ratio ours/baseline $(ratio "$tr" "$tb")   (goal <= 0.1)
     statuses of the re-clone publishes: $(sort -u "$work/statuses" | tr '\n' ';')
     versions of one instance's repo-seeds.tar.zst: $seeds_before before the re-clone publishes, $seeds_after after
  2. fleet: $FLEET instances, 9 secrets each, 1 MiB seeds
     ours, full publish                                $tfull
     ours, unchanged re-publish                        $tunch   ratio unchanged/full $(ratio "$tunch" "$tfull")   (goal <= 0.25)
REPORT
