#!/usr/bin/env bash
# Cost of the repo-seeds key scan's deep pass (gzip files, git loose objects
# and packfiles decompressed and scanned; internal/bundle/deepscan.go).
# Not a test: it prints medians of RUNS runs and ratios.
#
#   bench/keyscan.sh             # SEEDS_MB=64 (the bench tree, ~225 MB), RUNS=3
#
# Two trees: the bench tree of bench/make-fixture.sh as it is (its pack file
# is random bytes, so only the Go tree's gzip test data is decompressed), and
# the same tree plus a real git pack of the openclaw seed, as a shallow clone
# ships (every blob of the work tree, zlib-compressed, in one pack).
# Each tree is archived with WriteSeeds (tar + zstd, as publish does) and
# with WriteSeedsTar (tar only, the unchanged-inputs path) in three modes:
# plain (no deep scan, as before), reopen (the default: a compressed file is
# read a second time) and tee (the archiving copy feeds a decompressing
# goroutine).
#
# Needs: a Go toolchain, git, and what bench/make-fixture.sh needs.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
RUNS=${RUNS:-3}
SEEDS_MB=${SEEDS_MB:-64}
work=$(mktemp -d /tmp/cb-keyscan.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }

log "== cores: $(nproc) (GOMAXPROCS default), go $(go env GOVERSION)"
log "== building the benchmark binary"
go test -c -tags keyscanbench -o "$work/bundle.test" ./internal/bundle # the tee and plain modes exist only with this tag

log "== workload: bench/make-fixture.sh (SEEDS_MB=$SEEDS_MB)"
SEEDS_MB=$SEEDS_MB bash "$repo/bench/make-fixture.sh" "$work/fx" >/dev/null 2>"$work/fixture.log"
seeds=$work/fx/repo-seeds
allow='openclaw*/crypto' # the Go tree carries crypto test keys (as in bench/publish.sh)

count_deep() { # logs what the deep scan reads in the tree at $1
	local counts
	# shellcheck disable=SC2016 # perl code, not shell
	counts=$(find "$1" -type f -exec perl -e 'for (@ARGV) { open(my $f, "<", $_) or next; read($f, my $b, 4);
		$g++ if substr($b, 0, 2) eq "\x1f\x8b"; $p++ if $b eq "PACK" } printf "%d %d\n", $g, $p' {} + |
		awk '{g += $1; p += $2} END {printf "gzip files: %d, packs: %d", g, p}')
	log "   $(du -sh "$1" | cut -f1) in $(find "$1" -type f | wc -l) files; $counts"
}

run() { # run TREE MODE TAR; prints seconds
	local out
	out=$(KEYSCAN_ROOT=$1 KEYSCAN_MODE=$2 KEYSCAN_TAR=$3 KEYSCAN_ALLOW=$allow \
		"$work/bundle.test" -test.run '^$' -test.bench '^BenchmarkKeyScan$' -test.benchtime 1x -test.count 1 2>&1) \
		|| { printf '%s\n' "$out" >&2; exit 1; }
	printf '%s\n' "$out" | awk '/^BenchmarkKeyScan/ {printf "%.3f\n", $3/1e9}'
}

measure() { # measure LABEL TREE
	local label=$1 tree=$2 tar mode i t
	log "== $label"
	count_deep "$tree"
	for tar in 0 1; do
		for mode in plain reopen tee; do : >"$work/t_${tar}_$mode"; done
		for i in $(seq "$RUNS"); do
			for mode in plain reopen tee; do # interleaved, so drift hits every mode
				t=$(run "$tree" "$mode" "$tar")
				echo "$t" >>"$work/t_${tar}_$mode"
				log "   run $i $( [ "$tar" = 1 ] && echo tar-only || echo tar+zstd ) $mode: ${t}s"
			done
		done
		local p r e
		p=$(median <"$work/t_${tar}_plain"); r=$(median <"$work/t_${tar}_reopen"); e=$(median <"$work/t_${tar}_tee")
		printf '%-28s %-9s plain %6.3fs  reopen %6.3fs (x%s)  tee %6.3fs (x%s)\n' \
			"$label" "$( [ "$tar" = 1 ] && echo tar-only || echo tar+zstd )" "$p" "$r" "$(ratio "$r" "$p")" "$e" "$(ratio "$e" "$p")"
	done
}

measure "bench tree" "$seeds"

log "== adding a real git pack of repo-seeds/openclaw (its work tree but crypto/)"
gitdir=$work/real.git
g() { GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 git -c gc.auto=0 --git-dir="$gitdir" --work-tree="$seeds/openclaw" "$@"; }
git init -q --bare "$gitdir"
g add -A -- . ':(exclude)crypto' ':(exclude).git'
g -c user.name=bench -c user.email=bench@example.com commit -q -m seed
g repack -adq
packs=("$gitdir"/objects/pack/pack-*.pack)
[ "${#packs[@]}" = 1 ] || { log "want one pack, got: ${packs[*]}"; exit 1; }
cp "${packs[0]}" "${packs[0]%.pack}.idx" "$seeds/openclaw/.git/objects/pack/"
log "   pack: $(du -h "${packs[0]}" | cut -f1) for $(g ls-files | wc -l) files"
measure "bench tree + real git pack" "$seeds"
