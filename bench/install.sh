#!/usr/bin/env bash
# Side-by-side measurement of `clawdinator-bundle install`, the boot
# script's steps (bench/baseline-boot.sh) and an earlier build of install
# (BASE_REV), in one session, on the same bundles in one versitygw, each
# into a fresh host root. Not a test: it prints medians, ratios and peak
# memory.
#
#   bench/install.sh                          # RUNS=5, SEEDS_MB=64 (about 220 MB of seeds), BASE_REV=dff049f
#   RUNS=3 SEEDS_MB=256 BASE_REV=none bench/install.sh
#
# What is timed:
#   first install   into an empty host root: the boot script's steps, the
#                   BASE_REV build and this one, alternating, on one bundle
#                   published by the BASE_REV build (statement v1, which both
#                   builds read) in bucket "bench-base";
#   rotation        one secret re-encrypted and published again (untimed),
#                   then install on the host that had the previous bundle:
#                   the seeds are the ones installed, so only the secrets
#                   archive is fetched (bucket "bench", published by this
#                   build);
#   unchanged       install again with nothing new: one download of the
#                   secrets archive, nothing written;
#   peak RSS        of every install run (/usr/bin/time -v).
#
# Needs what bench/publish.sh needs, and git for BASE_REV; run as root
# (install chowns to root, the boot script's tar keeps owners only as root).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
gopath=$(go env GOPATH)
export PATH="$gopath/bin:$PATH"
RUNS=${RUNS:-5}
SEEDS_MB=${SEEDS_MB:-64}
BASE_REV=${BASE_REV:-dff049f}
work=$(mktemp -d /tmp/cb-bench-install.XXXXXX)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
cleanup() {
	stop_versitygw
	[ -d "$work/base-src" ] && git -C "$repo" worktree remove --force "$work/base-src" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

log "== building clawdinator-bundle (this tree)"
go build -trimpath -o "$work/cb" ./cmd/clawdinator-bundle
if [ "$BASE_REV" != none ]; then
	log "== building clawdinator-bundle at $BASE_REV"
	git -C "$repo" worktree add --detach "$work/base-src" "$BASE_REV" >/dev/null 2>&1
	(cd "$work/base-src" && go build -trimpath -o "$work/cb-base" ./cmd/clawdinator-bundle)
fi
log "== workload: bench/make-fixture.sh (SEEDS_MB=$SEEDS_MB)"
SEEDS_MB=$SEEDS_MB bash bench/make-fixture.sh "$work/fx" >/dev/null 2>"$work/fixture.log"
start_versitygw
prefix=bootstrap/clawdinator-1
recipient=$(age-keygen -y "$work/fx/nix/keys/clawdinator.agekey")
other=$(age-keygen 2>/dev/null | age-keygen -y)

publish() { # publish BINARY BUCKET
	(cd "$work/fx" && CLAWDINATOR_PROGRESS=0 "$1" publish --age-key-file nix/keys/clawdinator.agekey \
		--repo-seeds-allow-keys 'openclaw*/crypto' --s3-bucket "$2" --s3-endpoint "$S3_ENDPOINT" >/dev/null 2>"$work/publish.log") ||
		{ cat "$work/publish.log" >&2; exit 1; }
}
firstbucket=$S3_BUCKET
if [ "$BASE_REV" != none ]; then
	firstbucket=bench-base
	"${aws[@]}" s3api create-bucket --bucket "$firstbucket" >/dev/null
	"${aws[@]}" s3api put-bucket-versioning --bucket "$firstbucket" --versioning-configuration Status=Enabled
	log "== publish once with $BASE_REV (the first-install bundle)"
	publish "$work/cb-base" "$firstbucket"
fi
log "== publish once with this tree (the rotation bundle)"
publish "$work/cb" "$S3_BUCKET"

args() { # args BUCKET ROOT: the boot script's positional arguments for a host root
	echo "$1" "$prefix" "$2/var/lib/clawd/nix-secrets" "$2/var/lib/clawd/repo-seeds" "$2/etc/agenix/keys/clawdinator.agekey"
}
timed() { # timed RSSFILE CMD...: prints seconds, peak RSS (KB) in RSSFILE
	local rss=$1; shift
	sync # untimed: each run starts with nothing dirty from the one before
	local t0; t0=$(now)
	/usr/bin/time -f '%M' -o "$rss" "$@" >/dev/null 2>"$work/cmd.log" || { cat "$work/cmd.log" >&2; exit 1; }
	elapsed "$t0"
}
install_with() { # install_with BINARY BUCKET ROOT [FLAGS...]
	local bin=$1 bkt=$2 root=$3; shift 3
	# shellcheck disable=SC2046 # args splits on purpose: paths have no spaces
	timed "$work/rss" env BOOTSTRAP_PREFIX_FILE=/nonexistent "$bin" install --s3-endpoint "$S3_ENDPOINT" \
		--expected-recipient "$recipient" "$@" $(args "$bkt" "$root")
}
ours() { # ours BUCKET ROOT
	install_with "$work/cb" "$1" "$2" --state-dir "$2/var/lib/clawdinator-bundle"
}
boot() { # boot BUCKET ROOT
	# shellcheck disable=SC2046
	timed "$work/rss_boot" bash bench/baseline-boot.sh $(args "$1" "$2")
}
rotate() { # a new ciphertext of one secret, published (untimed)
	printf 'rotated %s' "$RANDOM" | age -r "$recipient" -r "$other" -o "$work/fx/nix/age-secrets/clawdinator-control-token.age"
	publish "$work/cb" "$S3_BUCKET"
}
rss_add() { cat "$work/rss" >>"$work/rss_ours"; }

log "== $RUNS runs, each into fresh host roots"
for f in t_boot t_base t_ours t_boot2 t_rot t_again rss_ours; do : >"$work/$f"; done
for i in $(seq "$RUNS"); do
	r=$work/root-$i
	# The machine slows down from one first install to the next within a
	# run (its filesystem's clean-up of the trees removed before), so the
	# order alternates: odd runs go boot script, BASE_REV, this build; even
	# runs the other way round.
	base=-
	first_boot() { b=$(boot "$firstbucket" "$r-boot"); echo "$b" >>"$work/t_boot"; rm -rf "$r-boot"; }
	first_base() {
		if [ "$BASE_REV" != none ]; then
			base=$(install_with "$work/cb-base" "$firstbucket" "$r-base"); echo "$base" >>"$work/t_base"; rm -rf "$r-base"
		fi
	}
	first_ours() { o=$(ours "$firstbucket" "$r-ours"); rss_add; echo "$o" >>"$work/t_ours"; rm -rf "$r-ours"; }
	if [ $((i % 2)) = 1 ]; then
		first_boot; first_base; first_ours
	else
		first_ours; first_base; first_boot
	fi
	# The rotation host: the current bundle of this tree's bucket installed.
	ours "$S3_BUCKET" "$r-rot" >/dev/null
	b2=$(boot "$S3_BUCKET" "$r-boot2"); echo "$b2" >>"$work/t_boot2"; rm -rf "$r-boot2"
	rotate
	rt=$(ours "$S3_BUCKET" "$r-rot"); rss_add; echo "$rt" >>"$work/t_rot"
	grep -q '^clawdinator-bootstrap: done$' "$work/cmd.log" || { log "the rotation installed nothing:"; cat "$work/cmd.log" >&2; exit 1; }
	grep -q 'repo-seeds kept' "$work/cmd.log" || { log "the rotation did not keep the seeds:"; cat "$work/cmd.log" >&2; exit 1; }
	a=$(ours "$S3_BUCKET" "$r-rot"); rss_add; echo "$a" >>"$work/t_again"
	grep -q '^clawdinator-bootstrap: already initialized$' "$work/cmd.log" || { cat "$work/cmd.log" >&2; exit 1; }
	log "  run $i: first install: boot script ${b}s, $BASE_REV ${base}s, install ${o}s; rotation ${rt}s (boot script ${b2}s); unchanged ${a}s"
	rm -rf "$r-rot"
done
tb=$(median <"$work/t_boot"); to=$(median <"$work/t_ours"); tb2=$(median <"$work/t_boot2")
tr=$(median <"$work/t_rot"); ta=$(median <"$work/t_again")
rss=$(sort -n "$work/rss_ours" | tail -1)
seeds=$("${aws[@]}" s3api head-object --bucket "$S3_BUCKET" --key "$prefix/repo-seeds.tar.zst" --query ContentLength --output text)
basel="(BASE_REV=none)"
if [ "$BASE_REV" != none ]; then
	tbase=$(median <"$work/t_base")
	basel="$tbase   ratio install/$BASE_REV $(ratio "$to" "$tbase")"
fi
cat <<REPORT

clawdinator-bundle install ($RUNS runs each, medians, seconds; $(nproc) cores;
repo-seeds.tar.zst $((seeds / 1048576)) MiB, $(du -sh "$work/fx/repo-seeds" | cut -f1) unpacked)
  first install, boot script's steps (fetch both, extract; checks nothing)  $tb
  first install, $BASE_REV build                                       $basel
  first install, this build                                            $to   ratio install/boot $(ratio "$to" "$tb")
  secrets-only rotation (seeds kept)                                   $tr   ratio rotation/boot $(ratio "$tr" "$tb2") (boot script on the same bundle: $tb2)
  unchanged (secrets archive only, nothing written)                    $ta   ratio unchanged/boot $(ratio "$ta" "$tb2")
  peak RSS of every install run of this build: $((rss / 1024)) MB
REPORT
