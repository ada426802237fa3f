#!/usr/bin/env bash
# Side-by-side measurement of today's shell pipeline and clawdinator-bundle,
# in one session, against the same versitygw bucket. Not a test: it prints
# medians, ratios and peak memory.
#
#   bench/publish.sh            # full run (3 and 50 instances, 1x and 4x seeds)
#   RUNS=3 QUICK=1 bench/publish.sh   # fewer runs, skip the 4x seeds pass
#
# The workload comes from bench/make-fixture.sh and the baseline is
# bench/baseline-publish.sh (override with FIXTURE_SCRIPT, BASELINE_SCRIPT).
#
# Needs: versitygw, /usr/bin/aws, GNU tar, zstd, age, age-keygen, jq, rsync,
# /usr/bin/time (scripts/ci/test.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
gopath=$(go env GOPATH)
export PATH="$gopath/bin:$PATH"
RUNS=${RUNS:-5}
SEEDS_MB=${SEEDS_MB:-64}
work=$(mktemp -d /tmp/cb-bench.XXXXXX)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
cleanup() { stop_versitygw; rm -rf "$work"; }
trap cleanup EXIT

log "== building clawdinator-bundle"
go build -trimpath -o "$work/cb" ./cmd/clawdinator-bundle

fixture_script=${FIXTURE_SCRIPT:-$repo/bench/make-fixture.sh}
baseline_script=${BASELINE_SCRIPT:-$repo/bench/baseline-publish.sh}
log "== workload: $fixture_script (SEEDS_MB=$SEEDS_MB)"
SEEDS_MB=$SEEDS_MB bash "$fixture_script" "$work/fx" >/dev/null 2>"$work/fixture.log"
du -sh "$work/fx/repo-seeds" >&2

start_versitygw

allow='openclaw*/crypto' # the Go tree in the fixture carries crypto test keys
ours() { # ours MODE [extra flags...]; prints seconds, leaves peak RSS in $work/rss
	local mode=$1; shift
	local t0; t0=$(now)
	(cd "$work/fx" && CLAWDINATOR_PROGRESS=0 /usr/bin/time -f '%M' -o "$work/rss" "$work/cb" "$mode" \
		--s3-bucket "$S3_BUCKET" --s3-endpoint "$S3_ENDPOINT" "$@" >/dev/null 2>"$work/ours.log") \
		|| { cat "$work/ours.log" >&2; exit 1; }
	elapsed "$t0"
}
publish() { ours publish --age-key-file nix/keys/clawdinator.agekey --repo-seeds-allow-keys "$allow"; }
baseline() {
	local t0; t0=$(now)
	(bash "$baseline_script" "$work/fx" >/dev/null 2>"$work/base.log") || { cat "$work/base.log" >&2; exit 1; }
	elapsed "$t0"
}

log "== alternating, $RUNS runs each: baseline, then publish (which re-uploads: the baseline just replaced every object)"
: >"$work/t_base"; : >"$work/t_ours"; : >"$work/rss_ours"
for i in $(seq "$RUNS"); do
	b=$(baseline); o=$(publish); cat "$work/rss" >>"$work/rss_ours"
	echo "$b" >>"$work/t_base"; echo "$o" >>"$work/t_ours"
	log "  run $i: baseline ${b}s  ours ${o}s  (peak RSS $(cat "$work/rss") KB)"
done
tb=$(median <"$work/t_base"); to=$(median <"$work/t_ours"); rss=$(sort -n "$work/rss_ours" | tail -1)

log "== unchanged inputs: publish twice, time the second"
: >"$work/t_unch"
for i in $(seq "$RUNS"); do publish >/dev/null; publish >>"$work/t_unch"; done
tu=$(median <"$work/t_unch")

log "== verify"
: >"$work/t_ver"
recipient=$(age-keygen -y "$work/fx/nix/keys/clawdinator.agekey")
for i in $(seq "$RUNS"); do ours verify --expected-recipient "$recipient" >>"$work/t_ver"; done
tv=$(median <"$work/t_ver")

log "== floor: one tar -c | zstd -3 -T0 pass plus one upload of the result"
: >"$work/t_floor"
for i in $(seq "$RUNS"); do
	t0=$(now)
	tar -C "$work/fx/repo-seeds" -cf - . | zstd -3 -T0 -q >"$work/floor.tar.zst"
	"${aws[@]}" --only-show-errors s3 cp "$work/floor.tar.zst" "s3://$S3_BUCKET/floor/repo-seeds.tar.zst"
	elapsed "$t0" >>"$work/t_floor"
done
tf=$(median <"$work/t_floor")

log "== fleet scale: 50 instances, each with its own token"
recipient=$(age-keygen -y "$work/fx/nix/keys/clawdinator.agekey")
cp "$work/fx/nix/instances.json" "$work/instances3.json"
jq -n '[range(1; 51)] | map({("fleet-\(.)"): {bootstrapPrefix: "bootstrap/fleet-\(.)", discordTokenSecret: "clawdinator-discord-token-fleet-\(.)"}}) | add' >"$work/fx/nix/instances.json"
for n in $(seq 50); do
	printf 'PLAINTEXT-CANARY-token-%s' "$n" | age -r "$recipient" -o "$work/fx/nix/age-secrets/clawdinator-discord-token-fleet-$n.age"
done
: >"$work/t_50"
for i in $(seq "$RUNS"); do
	"${aws[@]}" --only-show-errors s3 rm --recursive "s3://$S3_BUCKET/bootstrap/" # force full uploads
	publish >>"$work/t_50"
done
t50=$(median <"$work/t_50")
cp "$work/instances3.json" "$work/fx/nix/instances.json"
rm -f "$work"/fx/nix/age-secrets/clawdinator-discord-token-fleet-*.age

rss4=
if [ -z "${QUICK:-}" ]; then
	log "== 4x seeds: peak RSS"
	for d in 1 2 3; do # four times the tree: three more copies of each repository
		cp -a "$work/fx/repo-seeds/openclaw" "$work/fx/repo-seeds/openclaw-copy$d"
		cp -a "$work/fx/repo-seeds/nix-openclaw" "$work/fx/repo-seeds/nix-openclaw-copy$d"
	done
	du -sh "$work/fx/repo-seeds" >&2
	: >"$work/rss4"
	for i in 1 2 3; do publish >/dev/null; cat "$work/rss" >>"$work/rss4"; done
	rss4=$(sort -n "$work/rss4" | tail -1)
fi

per_base=$(awk -v b="$tb" 'BEGIN {printf "%.3f", b/3}')
marginal=$(awk -v a="$t50" -v b="$to" 'BEGIN {printf "%.3f", (a-b)/47}')
cat <<REPORT

clawdinator-bundle vs baseline ($RUNS runs each, medians, seconds; $(nproc) cores)
  baseline publish (3 instances, no verification)   $tb
  ours publish + pull-back verify (3 instances)      $to   ratio ours/baseline $(ratio "$to" "$tb")   (target <= 0.25)
  floor (tar|zstd -3 -T0 once + one upload)          $tf   ratio ours/floor    $(ratio "$to" "$tf")   (target <= 1.5)
  ours publish, unchanged inputs                     $tu   ratio ours/baseline $(ratio "$tu" "$tb")   (target <= 0.1)
  ours verify (3 instances)                          $tv   ratio ours/baseline $(ratio "$tv" "$tb")   (target <= 0.1)
  ours publish, 50 instances                         $t50
  marginal cost per instance (T50-T3)/47             $marginal   ratio to baseline per instance ($per_base) $(ratio "$marginal" "$per_base")   (target <= 0.1)
  peak RSS, ours publish                             $((rss / 1024)) MB   (target <= 150 MB)
REPORT
if [ -n "$rss4" ]; then
	echo "  peak RSS, ours publish, 4x seeds                   $((rss4 / 1024)) MB   growth $(ratio "$rss4" "$rss")x   (target <= 1.10)"
fi
