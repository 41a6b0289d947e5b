#!/usr/bin/env bash
# The same no-op burn-down on asyncd and on the peers users would pick instead (`make bench-peers`):
# graphile-worker and pg-boss on PostgreSQL 15, BullMQ on Redis 7, beanstalkd with its binlog; and
# asyncd on PostgreSQL (1 host: asyncd-pg, 3 hosts: asyncd-pg-3) on the same PostgreSQL server as
# graphile-worker and pg-boss. Same N (100000 x BENCH_SCALE), same machine, same run; see
# docs/performance.md.
#
#   1. builds build-bench/ (scripts/bench.sh --build-only)
#   2. installs what is missing: Debian packages postgresql, redis-server, beanstalkd (as root with
#      apt-get, like scripts/deps.sh) and the npm packages of bench/peers/package.json (pinned, into
#      bench/peers/node_modules); a peer that cannot be installed is skipped, saying why
#   3. starts private servers on 127.0.0.1 (free ports, data under a temp dir), durable settings:
#      PostgreSQL fsync=on, synchronous_commit=on; Redis appendonly yes + appendfsync everysec (its
#      documented durable setting; it can lose up to 1 s of writes, asyncd and the others none);
#      beanstalkd -b DIR -f0 (binlog, fsync at every write)
#   4. runs asyncd's burn-down (build-bench/bench/asyncd-bench --only burndown), asyncd's on
#      PostgreSQL (the same with --store URL --hosts 1 and 3) and each peer's (bench/peers/peer.mjs,
#      build-bench/bench/beanstalk-bench), one after the other; a CHECKPOINT of the PostgreSQL
#      server before each run on it, so that none pays for the WAL of the one before
#   5. prints one table with the ratio asyncd/peer, a second with asyncd-pg / the PostgreSQL
#      peers, and writes bench/results/peers.csv
# Every server started here is stopped on exit (trap), whatever happens.
#
# Environment: BENCH_SCALE (default 1), PEERS (default "asyncd-pg asyncd-pg-3 graphile-worker pg-boss
# bullmq beanstalkd"),
# PEER_TIMEOUT (s, default 900), the tuning knobs of bench/peers/peer.mjs (GW_CONCURRENCY, ...),
# BEANSTALK_WORKERS (default 4).
set -euo pipefail

cd "$(dirname "$0")/.."

SCALE=${BENCH_SCALE:-1}
PEERS=${PEERS:-asyncd-pg asyncd-pg-3 graphile-worker pg-boss bullmq beanstalkd}
PG_PEERS="asyncd-pg asyncd-pg-3 graphile-worker pg-boss" # the ones on the one PostgreSQL server
PEER_TIMEOUT=${PEER_TIMEOUT:-900}
BEANSTALK_WORKERS=${BEANSTALK_WORKERS:-4}
BUILD=build-bench
RESULTS=bench/results
PG_BIN=/usr/lib/postgresql/15/bin
PEERS_DIR=bench/peers

N=$(awk -v s="$SCALE" 'BEGIN { n = int(100000 * s + 0.5); if (n < 1000) n = 1000; print n }')

work=
pg_data=
redis_pid=
beanstalk_pid=
declare -A skip=()
declare -A row=()

say() {
	printf '\n=== %s\n' "$*" >&2
}

# shellcheck disable=SC2317 # called from the trap
cleanup() {
	set +e
	if [[ -n $pg_data && -f $pg_data/postmaster.pid ]]; then
		as_postgres "$PG_BIN/pg_ctl" -D "$pg_data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
			kill -9 "$(head -1 "$pg_data/postmaster.pid")" 2>/dev/null
	fi
	[[ -n $redis_pid ]] && stop_pid "$redis_pid"
	[[ -n $beanstalk_pid ]] && stop_pid "$beanstalk_pid"
	[[ -n $work ]] && rm -rf "$work"
}

# stop_pid PID: SIGTERM, then SIGKILL after 10 s
stop_pid() {
	local i
	kill "$1" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null || true
}

as_postgres() {
	if [[ $(id -u) == 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# a free TCP port on 127.0.0.1
free_port() {
	node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => {
		console.log(s.address().port); s.close(); });'
}

# wait_port PORT SECONDS: until something listens on 127.0.0.1:PORT
wait_port() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# ---- installation ----

apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
		echo "not installed: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
		return 1
	fi
	echo "bench-peers: installing ${missing[*]}" >&2
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		"${missing[@]}" >&2; then
		apt-get update >&2 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			"${missing[@]}" >&2 || {
			echo "apt-get install ${missing[*]} failed"
			return 1
		}
	fi
}

install_all() {
	local why
	say "installing the peers"
	if ! why=$(apt_install postgresql-15 postgresql-client-15) || [[ ! -x $PG_BIN/postgres ]]; then
		skip_pg "PostgreSQL 15: ${why:-$PG_BIN/postgres missing}"
	fi
	why=$(apt_install redis-server redis-tools) || skip[bullmq]="Redis: $why"
	why=$(apt_install beanstalkd) || skip[beanstalkd]="beanstalkd: $why"
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		why="Node.js/npm not installed (apt-get install nodejs npm)"
	elif ! (cd "$PEERS_DIR" && if [[ -f package-lock.json ]]; then
		npm ci --no-audit --no-fund >&2
	else
		npm install --no-audit --no-fund >&2
	fi); then
		why="npm install in $PEERS_DIR failed"
	else
		why=
	fi
	if [[ -n $why ]]; then
		: "${skip[graphile-worker]:=$why}" "${skip[pg-boss]:=$why}" "${skip[bullmq]:=$why}"
	fi
}

# skip_pg WHY: every peer on PostgreSQL is skipped (those skipped already keep their reason)
skip_pg() {
	local p
	for p in $PG_PEERS; do
		: "${skip[$p]:=$1}"
	done
}

# ---- servers ----

start_postgres() {
	local port
	port=$(free_port)
	pg_data=$work/pg
	mkdir -p "$pg_data" "$work/pgsock" "$work/pglog"
	chown postgres: "$pg_data" "$work/pgsock" "$work/pglog" 2>/dev/null || true
	as_postgres "$PG_BIN/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 \
		--no-locale >"$work/initdb.log" 2>&1 || return 1
	# durable (the defaults, said explicitly); memory sized for this machine
	cat >>"$pg_data/postgresql.conf" <<-CONF
		listen_addresses = '127.0.0.1'
		port = $port
		unix_socket_directories = '$work/pgsock'
		fsync = on
		synchronous_commit = on
		full_page_writes = on
		shared_buffers = 256MB
		max_connections = 200
	CONF
	as_postgres "$PG_BIN/pg_ctl" -D "$pg_data" -l "$work/pglog/postgres.log" -w -t 60 start \
		>/dev/null || return 1
	"$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -q -c 'create database graphile' \
		-c 'create database pgboss' >/dev/null || return 1
	export GW_URL="postgres://postgres@127.0.0.1:$port/graphile"
	export PGBOSS_URL="postgres://postgres@127.0.0.1:$port/pgboss"
	# asyncd-bench makes (and drops) a database of its own per run: the superuser's URL
	PG_ADMIN_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

# a checkpoint before each run on PostgreSQL: none pays for the WAL the one before wrote
pg_checkpoint() {
	if [[ -n ${PG_ADMIN_URL:-} ]]; then
		"$PG_BIN/psql" -X -q -d "$PG_ADMIN_URL" -c CHECKPOINT >/dev/null || true
	fi
}

start_redis() {
	local port
	port=$(free_port)
	mkdir -p "$work/redis"
	redis-server --bind 127.0.0.1 --port "$port" --dir "$work/redis" --appendonly yes \
		--appendfsync everysec --save '' --daemonize no --protected-mode yes \
		--logfile "$work/redis.log" &
	redis_pid=$!
	wait_port "$port" 30 || return 1
	export REDIS_PORT=$port
}

start_beanstalkd() {
	BEANSTALK_PORT=$(free_port)
	mkdir -p "$work/beanstalk"
	beanstalkd -l 127.0.0.1 -p "$BEANSTALK_PORT" -b "$work/beanstalk" -f 0 \
		>"$work/beanstalkd.log" 2>&1 &
	beanstalk_pid=$!
	wait_port "$BEANSTALK_PORT" 30
}

wanted() {
	[[ " $PEERS " == *" $1 "* ]]
}

start_servers() {
	say "starting private servers on 127.0.0.1 (data in $work)"
	local p need_pg=
	for p in $PG_PEERS; do
		wanted "$p" && [[ -z ${skip[$p]:-} ]] && need_pg=1
	done
	if [[ -n $need_pg ]] && ! start_postgres; then
		skip_pg "PostgreSQL did not start: see $work/pglog/postgres.log"
		tail -5 "$work/initdb.log" "$work/pglog/postgres.log" >&2 2>/dev/null || true
	fi
	if wanted bullmq && [[ -z ${skip[bullmq]:-} ]] && ! start_redis; then
		skip[bullmq]="redis-server did not start"
	fi
	if wanted beanstalkd && [[ -z ${skip[beanstalkd]:-} ]] && ! start_beanstalkd; then
		skip[beanstalkd]="beanstalkd did not start"
	fi
}

# ---- runs ----

# record NAME "INGEST E2E DRAIN" SETTINGS
record() {
	row[$1]="$2|$3"
}

# is_number X: a plain non-negative decimal number
is_number() {
	[[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]
}

# record_result NAME OUTPUT SETTINGS: the "RESULT NAME INGEST E2E DRAIN" line of OUTPUT
record_result() {
	local ingest e2e drain
	read -r ingest e2e drain < <(awk '/^RESULT/ { print $3, $4, $5 }' <<<"$2")
	if ! is_number "${ingest:-}" || ! is_number "${e2e:-}"; then
		skip[$1]="no result line from the run"
		return
	fi
	is_number "${drain:-}" || drain=-1
	record "$1" "$ingest $e2e $drain" "$3"
}

# run_asyncd [NAME HOSTS]: asyncd's burn-down on SQLite, or (NAME, HOSTS) on the PostgreSQL server
# of the peers with HOSTS asyncd sharing one database
run_asyncd() {
	local name=${1:-asyncd} hosts=${2:-} csv ingest e2e drain settings store=()
	csv=$work/$name.csv
	settings="SQLite WAL synchronous=FULL, in-process no-op, defaults"
	if [[ -n $hosts ]]; then
		store=(--store "$PG_ADMIN_URL" --hosts "$hosts")
		settings="PostgreSQL 15 (the server of graphile-worker and pg-boss), 1 host, in-process no-op, defaults"
		((hosts == 1)) || settings=${settings/1 host/$hosts hosts sharing one database}
		pg_checkpoint
	fi
	say "$name: burn-down of $N no-op jobs"
	if ! timeout -k 10 "$PEER_TIMEOUT" "$BUILD/bench/asyncd-bench" --scale "$SCALE" --n "$N" \
		--only burndown "${store[@]}" --csv "$csv" >&2; then
		skip[$name]="asyncd-bench failed (see above)"
		return
	fi
	ingest=$(awk -F, '$2 == "ingest (bulk NDJSON)" { print $3 }' "$csv")
	e2e=$(awk -F, '$2 == "processed (ingest start to done)" { print $3 }' "$csv")
	drain=$(awk -F, '$2 == "processed (drain after ingest)" { print $3 }' "$csv")
	is_number "$drain" || drain=-1
	if ! is_number "$ingest" || ! is_number "$e2e"; then
		skip[$name]="asyncd-bench measured nothing (see above)"
		return
	fi
	record "$name" "$ingest $e2e $drain" "$settings"
}

run_node_peer() {
	local name=$1 out settings
	say "$name: burn-down of $N no-op jobs"
	[[ $name == bullmq ]] || pg_checkpoint
	if ! out=$(cd "$PEERS_DIR" && timeout -k 10 "$PEER_TIMEOUT" node peer.mjs run "$name" "$N" \
		2>"$work/$name.err"); then
		cat "$work/$name.err" >&2
		skip[$name]="the run failed: $(tail -1 "$work/$name.err")"
		return
	fi
	cat "$work/$name.err" >&2
	settings=$(grep "^$name: " "$work/$name.err" | tail -1 | sed "s/^$name: //")
	record_result "$name" "$out" "$settings"
}

run_beanstalkd() {
	local out
	say "beanstalkd: burn-down of $N no-op jobs"
	if ! out=$(timeout -k 10 "$PEER_TIMEOUT" "$BUILD/bench/beanstalk-bench" "$BEANSTALK_PORT" "$N" \
		"$BEANSTALK_WORKERS"); then
		skip[beanstalkd]="the run failed"
		return
	fi
	record_result beanstalkd "$out" \
		"binlog -f0 (fsync every write), C client: pipelined puts, $BEANSTALK_WORKERS reserve/delete connections"
}

run_all() {
	run_asyncd
	local p
	for p in $PEERS; do
		if [[ -n ${skip[$p]:-} ]]; then
			echo "bench-peers: skipping $p: ${skip[$p]}" >&2
			continue
		fi
		case $p in
		beanstalkd) run_beanstalkd ;;
		asyncd-pg) run_asyncd asyncd-pg 1 ;;
		asyncd-pg-3) run_asyncd asyncd-pg-3 3 ;;
		graphile-worker | pg-boss | bullmq) run_node_peer "$p" ;;
		*) skip[$p]="unknown peer" ;;
		esac
	done
}

# ---- the table ----

# ratio A B: "N.Nx" (A / B), or "n/a" when either is not a positive number
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.1fx", a / b; else printf "n/a" }'
}

# field NAME K: the K-th figure of NAME's row (1 ingest, 2 proc, 3 drain), or 0 when not measured
field() {
	local f=(0 0 0)
	[[ -n ${row[$1]:-} ]] && read -r -a f <<<"${row[$1]%%|*}"
	echo "${f[$(($2 - 1))]}"
}

# the second table: asyncd on PostgreSQL against the peers on the same server
pg_table() {
	local a b any=
	for a in asyncd-pg asyncd-pg-3; do
		[[ -n ${row[$a]:-} ]] && any=1
	done
	[[ -n $any ]] || return 0
	printf '\nasyncd on PostgreSQL against the peers on the same PostgreSQL server (x = times as fast):\n\n'
	printf '%-32s %10s %10s %10s\n' "" "proc" "ingest" "drain"
	for a in asyncd-pg asyncd-pg-3; do
		[[ -n ${row[$a]:-} ]] || continue
		for b in graphile-worker pg-boss asyncd-pg; do
			[[ $a != "$b" && -n ${row[$b]:-} ]] || continue
			printf '%-32s %10s %10s %10s\n' "$a / $b" "$(ratio "$(field "$a" 2)" "$(field "$b" 2)")" \
				"$(ratio "$(field "$a" 1)" "$(field "$b" 1)")" "$(ratio "$(field "$a" 3)" "$(field "$b" 3)")"
		done
	done
}

table() {
	local csv=$RESULTS/peers.csv p a_ingest=0 a_e2e=0 pg_ingest pg_e2e
	if [[ -n ${row[asyncd]:-} ]]; then
		read -r a_ingest a_e2e _ <<<"${row[asyncd]%%|*}"
	fi
	pg_ingest=$(field asyncd-pg 1)
	pg_e2e=$(field asyncd-pg 2)
	mkdir -p "$RESULTS"
	echo "system,ingest_events_per_s,processed_jobs_per_s,drain_jobs_per_s,asyncd_ratio_processed,asyncd_ratio_ingest,settings,asyncd_pg_ratio_processed,asyncd_pg_ratio_ingest" >"$csv"
	printf '\nno-op burn-down, N=%s, %s CPUs, %s (same run)\n\n' "$N" "$(nproc)" "$(date '+%Y-%m-%d %H:%M')"
	printf '%-16s %12s %12s %12s %10s %10s\n' system "ingest ev/s" "proc jobs/s" "drain jobs/s" \
		"asyncd/x" "asyncd/x"
	printf '%-16s %12s %12s %12s %10s %10s\n' "" "" "" "" "(proc)" "(ingest)"
	for p in asyncd $PEERS; do
		if [[ -z ${row[$p]:-} ]]; then
			printf '%-16s %s\n' "$p" "n/a: ${skip[$p]:-not run}"
			echo "$p,,,,,,\"n/a: ${skip[$p]:-not run}\",," >>"$csv"
			continue
		fi
		local ingest e2e drain settings r_p r_i g_p g_i
		read -r ingest e2e drain <<<"${row[$p]%%|*}"
		settings=${row[$p]#*|}
		r_p=$(ratio "$a_e2e" "$e2e")
		r_i=$(ratio "$a_ingest" "$ingest")
		g_p=$(ratio "$pg_e2e" "$e2e")
		g_i=$(ratio "$pg_ingest" "$ingest")
		printf '%-16s %12.0f %12.0f %12s %10s %10s\n' "$p" "$ingest" "$e2e" \
			"$(awk -v d="$drain" 'BEGIN { print (d < 0 ? "-" : sprintf("%.0f", d)) }')" "$r_p" "$r_i"
		echo "$p,$ingest,$e2e,$drain,${r_p%x},${r_i%x},\"$settings\",${g_p%x},${g_i%x}" >>"$csv"
	done
	printf '\nproc = jobs/s from the first ingest request to the last job done; drain = after the\n'
	printf 'ingest ("-": done during the ingest); ingest in bulk batches of 10000 (beanstalkd: pipelined puts).\n'
	pg_table
	printf '\nsettings:\n'
	for p in asyncd $PEERS; do
		[[ -n ${row[$p]:-} ]] && printf '  %-16s %s\n' "$p" "${row[$p]#*|}"
	done
	printf 'written: %s\n' "$csv"
}

main() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM HUP
	scripts/bench.sh --build-only
	install_all
	work=$(mktemp -d "${TMPDIR:-/tmp}/asyncd-peers.XXXXXX")
	chmod 755 "$work"
	start_servers
	run_all
	table
}

main "$@"
