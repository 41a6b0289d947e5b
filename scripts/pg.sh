#!/usr/bin/env bash
# A private PostgreSQL 15 server for tests, benchmarks and `make cluster`: initdb in a fresh
# directory, listening on a free 127.0.0.1 port and on a unix socket in that directory, trust
# authentication for the role `asyncd` (a superuser: tests create one database per case).
#
# usage: scripts/pg.sh start [DIR]   start a server; prints its URL on stdout (last line).
#                                     DIR (default: a new mktemp -d) must be absent or empty.
#        scripts/pg.sh stop DIR       stop it fast and remove DIR
#        scripts/pg.sh url DIR        print the URL of the server started in DIR
#        scripts/pg.sh restart DIR    stop it (fast) and start it again on the same port
#        scripts/pg.sh down DIR       stop it (fast) and keep DIR (a database outage)
#        scripts/pg.sh up DIR         start a server stopped by `down` again, on the same port
#                                     (nothing when it runs)
#
# The server runs as the invoking user; as root it runs as the `postgres` user (Debian's package
# makes it; `nobody` when there is none) through runuser, since postgres refuses to run as root.
# The data directory and the log (DIR/log) are that user's. Settings: max_connections 400 (each
# asyncd host opens about 20, docs/store.md), fsync on (the durability tests count on it).
set -euo pipefail

prog=${0##*/}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)}

die() {
	echo "$prog: $*" >&2
	exit 1
}

# as_owner CMD...: run CMD as the user the server runs as
as_owner() {
	if [[ $(id -u) == 0 ]]; then
		runuser -u "$PG_USER" -- "$@"
	else
		"$@"
	fi
}

pick_user() {
	PG_USER=$(id -un)
	if [[ $(id -u) == 0 ]]; then
		if id postgres >/dev/null 2>&1; then PG_USER=postgres; else PG_USER=nobody; fi
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
	local dir=${1:-} port
	[[ -x $PG_BIN/initdb ]] || die "PostgreSQL 15 not found (install postgresql-15: scripts/deps.sh pg)"
	if [[ -z $dir ]]; then
		dir=$(mktemp -d "${TMPDIR:-/tmp}/asyncd-pg.XXXXXX")
	fi
	mkdir -p "$dir"
	pick_user
	chmod 755 "$dir"
	[[ $(id -u) == 0 ]] && chown "$PG_USER" "$dir"
	as_owner "$PG_BIN/initdb" -D "$dir/data" -U asyncd --auth=trust -E UTF8 --locale=C.UTF-8 \
		>"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		die "initdb failed"
	}
	local tries=0
	while :; do
		port=$(free_port)
		if as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start \
			-o "$(options "$port" "$dir")" \
			>/dev/null; then
			break
		fi
		tries=$((tries + 1))
		((tries < 3)) || {
			tail -20 "$dir/log" >&2 || true
			die "postgres did not start"
		}
	done
	echo "$port" >"$dir/port"
	url "$dir"
}

url() {
	local dir=${1:?usage: $prog url DIR}
	echo "postgresql://asyncd@127.0.0.1:$(cat "$dir/port")/postgres"
}

# restart DIR: stop fast and start again on the same port (tests of a database restart)
restart() {
	local dir=${1:?usage: $prog restart DIR}
	pick_user
	as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -m fast -w restart >/dev/null
}

# the server's options; the same at every start in DIR, so that `up` finds the same port
options() {
	echo "-p $1 -k $2 -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=64MB"
}

# down DIR: stop fast (clients see their connections closed) and keep DIR for `up`
down() {
	local dir=${1:?usage: $prog down DIR}
	[[ -d $dir/data ]] || die "$dir is not a server directory of $prog"
	pick_user
	as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}

# up DIR: start the server of DIR again on its port (after `down`)
up() {
	local dir=${1:?usage: $prog up DIR}
	[[ -f $dir/port ]] || die "$dir is not a server directory of $prog"
	pick_user
	if as_owner "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		return 0 # already up
	fi
	as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start \
		-o "$(options "$(cat "$dir/port")" "$dir")" >/dev/null
}

stop() {
	local dir=${1:?usage: $prog stop DIR}
	[[ -d $dir/data ]] || die "$dir is not a server directory of $prog"
	pick_user
	as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}

case "${1:-}" in
start) start "${2:-}" ;;
stop) stop "${2:-}" ;;
restart) restart "${2:-}" ;;
down) down "${2:-}" ;;
up) up "${2:-}" ;;
url) url "${2:-}" ;;
*)
	echo "usage: $prog start [DIR] | stop DIR | url DIR | restart DIR | down DIR | up DIR" >&2
	exit 2
	;;
esac
