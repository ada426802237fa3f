#!/usr/bin/env bash
# Side-by-side measurement of the boot script's steps (bench/baseline-boot.sh)
# and `clawdinator-bundle install`, in one session, on the same bundle in
# the same versitygw bucket, each into a fresh host root. Not a test: it
# prints medians, ratios and peak memory.
#
#   bench/install.sh              # RUNS=5, SEEDS_MB=64 (about 220 MB of seeds)
#   RUNS=3 SEEDS_MB=256 bench/install.sh
#
# Needs what bench/publish.sh needs; run as root (install chowns to root,
# the boot script's tar keeps owners only as root).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
gopath=$(go env GOPATH)
export PATH="$gopath/bin:$PATH"
RUNS=${RUNS:-5}
SEEDS_MB=${SEEDS_MB:-64}
work=$(mktemp -d /tmp/cb-bench-install.XXXXXX)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
cleanup() { stop_versitygw; rm -rf "$work"; }
trap cleanup EXIT

log "== building clawdinator-bundle"
go build -trimpath -o "$work/cb" ./cmd/clawdinator-bundle
log "== workload: bench/make-fixture.sh (SEEDS_MB=$SEEDS_MB)"
SEEDS_MB=$SEEDS_MB bash bench/make-fixture.sh "$work/fx" >/dev/null 2>"$work/fixture.log"
du -sh "$work/fx/repo-seeds" >&2
start_versitygw

log "== publish once"
(cd "$work/fx" && CLAWDINATOR_PROGRESS=0 "$work/cb" publish --age-key-file nix/keys/clawdinator.agekey \
	--repo-seeds-allow-keys 'openclaw*/crypto' --s3-bucket "$S3_BUCKET" --s3-endpoint "$S3_ENDPOINT" >/dev/null 2>"$work/publish.log") ||
	{ cat "$work/publish.log" >&2; exit 1; }
"${aws[@]}" s3 ls --recursive "s3://$S3_BUCKET/bootstrap/clawdinator-1/" >&2
recipient=$(age-keygen -y "$work/fx/nix/keys/clawdinator.agekey")
prefix=bootstrap/clawdinator-1

args() { # args ROOT: the boot script's positional arguments for a host root
	echo "$S3_BUCKET" "$prefix" "$1/var/lib/clawd/nix-secrets" "$1/var/lib/clawd/repo-seeds" "$1/etc/agenix/keys/clawdinator.agekey"
}
timed() { # timed RSSFILE CMD...: prints seconds, peak RSS (KB) in RSSFILE
	local rss=$1; shift
	sync # untimed: each run starts with nothing dirty from the one before
	local t0; t0=$(now)
	/usr/bin/time -f '%M' -o "$rss" "$@" >/dev/null 2>"$work/cmd.log" || { cat "$work/cmd.log" >&2; exit 1; }
	elapsed "$t0"
}
ours() { # ours ROOT
	# shellcheck disable=SC2046 # args splits on purpose: paths have no spaces
	timed "$work/rss" env BOOTSTRAP_PREFIX_FILE=/nonexistent "$work/cb" install --s3-endpoint "$S3_ENDPOINT" \
		--expected-recipient "$recipient" $(args "$1")
}
boot() { # boot ROOT
	# shellcheck disable=SC2046
	timed "$work/rss_boot" bash bench/baseline-boot.sh $(args "$1")
}
bootsync() { # bootsync ROOT: the boot script, then sync: the same durability install has
	# shellcheck disable=SC2046
	timed "$work/rss_boot" bash -c 'bash bench/baseline-boot.sh "$@" && sync' boot $(args "$1")
}

log "== alternating, $RUNS runs each, each into a fresh host root: boot script, then install"
: >"$work/t_boot"; : >"$work/t_bsync"; : >"$work/t_ours"; : >"$work/t_again"; : >"$work/rss_ours"; : >"$work/rss_boots"
for i in $(seq "$RUNS"); do
	b=$(boot "$work/root-boot-$i"); cat "$work/rss_boot" >>"$work/rss_boots"
	rm -rf "$work/root-boot-$i"
	bs=$(bootsync "$work/root-boot-$i"); echo "$bs" >>"$work/t_bsync"
	o=$(ours "$work/root-ours-$i"); cat "$work/rss" >>"$work/rss_ours"
	orss=$(cat "$work/rss")
	a=$(ours "$work/root-ours-$i") # already installed: the secrets archive only
	echo "$b" >>"$work/t_boot"; echo "$o" >>"$work/t_ours"; echo "$a" >>"$work/t_again"
	log "  run $i: boot script ${b}s  boot script + sync ${bs}s  install ${o}s  again ${a}s  (install peak RSS $orss KB)"
	rm -rf "$work/root-boot-$i" "$work/root-ours-$i"
done
tb=$(median <"$work/t_boot"); tbs=$(median <"$work/t_bsync"); to=$(median <"$work/t_ours"); ta=$(median <"$work/t_again")
rss=$(sort -n "$work/rss_ours" | tail -1); rssb=$(sort -n "$work/rss_boots" | tail -1)
seeds=$("${aws[@]}" s3api head-object --bucket "$S3_BUCKET" --key "$prefix/repo-seeds.tar.zst" --query ContentLength --output text)
cat <<REPORT

clawdinator-bundle install vs the boot script ($RUNS runs each, medians, seconds; $(nproc) cores;
repo-seeds.tar.zst $((seeds / 1048576)) MiB, $(du -sh "$work/fx/repo-seeds" | cut -f1) unpacked)
  boot script (fetch both, extract, install; checks nothing)   $tb
  boot script, then sync (the durability install has)          $tbs
  install (prove, fetch, extract into staging, syncfs, swap)   $to   ratio install/boot $(ratio "$to" "$tb"), install/(boot+sync) $(ratio "$to" "$tbs")
  install again (already installed: secrets archive only)      $ta   ratio install/boot $(ratio "$ta" "$tb")
  peak RSS: install $((rss / 1024)) MB, boot script's largest process $((rssb / 1024)) MB
REPORT
