# shellcheck shell=bash disable=SC2154 # $work is the caller's
# Shared by the bench scripts (sourced): timing helpers and a versitygw
# bucket on 127.0.0.1. The caller sets $work (a temp dir it removes) and
# calls start_versitygw; stop_versitygw runs from its EXIT trap.

log() { printf '%s\n' "$*" >&2; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f\n", b-a}'; }

vgw_pid=
# start_versitygw: a versioned bucket $S3_BUCKET at $S3_ENDPOINT, AWS_*
# exported for the aws CLI and the tool, and aws=(the aws CLI at it).
start_versitygw() {
	log "== versitygw on 127.0.0.1"
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	export AWS_ACCESS_KEY_ID=benchaccess AWS_SECRET_ACCESS_KEY=benchsecret-$RANDOM$RANDOM AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
	export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
	mkdir -p "$work/s3" "$work/versions"
	ROOT_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID ROOT_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
		versitygw --port "127.0.0.1:$port" --region us-east-1 --quiet posix --versioning-dir "$work/versions" "$work/s3" >"$work/vgw.log" 2>&1 &
	vgw_pid=$!
	export S3_ENDPOINT=http://127.0.0.1:$port S3_BUCKET=bench
	for _ in $(seq 100); do curl -s -o /dev/null "$S3_ENDPOINT" && break; sleep 0.1; done
	aws=(/usr/bin/aws --endpoint-url "$S3_ENDPOINT")
	"${aws[@]}" s3api create-bucket --bucket "$S3_BUCKET" >/dev/null
	"${aws[@]}" s3api put-bucket-versioning --bucket "$S3_BUCKET" --versioning-configuration Status=Enabled
}

stop_versitygw() { [ -n "$vgw_pid" ] && kill "$vgw_pid" 2>/dev/null; wait 2>/dev/null; }
