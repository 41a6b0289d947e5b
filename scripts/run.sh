#!/usr/bin/env bash
# Start a development asyncd from build/ (`make run`), in the foreground.
#
# State lives in ./var (ASYNCD_STATE_DIR overrides); asyncd listens on 127.0.0.1:8470
# (ASYNCD_LISTEN overrides) and logs to STATE/asyncd.log; the binaries come from build/
# (ASYNCD_BUILD_DIR overrides). On the first run the sample assembly is registered and a step
# "Create account -> samples.echo" is added, so that raising an event shows a job running at once.
#
# Stopping: this script checks, then becomes asyncd (exec), so asyncd is the process make started,
# in make's process group: Ctrl-C reaches it directly, also with `make run 2>&1 | tee log` (nothing
# is left between make and asyncd to die of a SIGPIPE first). asyncd stops cleanly on SIGINT,
# SIGTERM and SIGHUP, also when started with SIGINT ignored (background runs), and with
# --exit-with-parent it gets a SIGTERM when make (its parent) dies, however it dies. The wait for
# /healthz, the first run's registration and the banner run in a helper process beside it.
set -euo pipefail
umask 077 # the log and markers in the state directory are private too

cd "$(dirname "$0")/.."

BUILD=${ASYNCD_BUILD_DIR:-build}
BIN=$BUILD/src/bin
SAMPLES=$BUILD/plugins/samples/samples.so
STATE=${ASYNCD_STATE_DIR:-var}
LISTEN=${ASYNCD_LISTEN:-127.0.0.1:8470}
STARTUP_TIMEOUT=${ASYNCD_STARTUP_TIMEOUT:-15}
LOG=$STATE/asyncd.log
URL_FILE=$STATE/asyncd.url
MARKER=$STATE/.samples-registered
LOCK=$STATE/asyncd.lock

pid=

die() {
	echo "run.sh: $*" >&2
	exit 1
}

# the URL asyncd wrote, without surrounding white space
read_url() {
	local url
	url=$(<"$URL_FILE")
	url=${url//[[:space:]]/}
	printf '%s' "${url%/}"
}

healthy() {
	curl -fsS --max-time 2 -o /dev/null "$1/healthz" 2>/dev/null
}

show_log_tail() {
	echo "run.sh: last lines of $LOG:" >&2
	tail -n 30 "$LOG" >&2 || true
}

# The state directory holds the database (secure configurations, password hashes) and the
# administrator's token: asyncd refuses one that group or others can reach. Create it 0700, and
# make a ./var left open by earlier runs private, saying so.
prepare_state() {
	local open
	if [[ ! -d $STATE ]]; then
		mkdir -p "$STATE" # 0700: umask 077
		return 0
	fi
	open=$(find "$STATE" -perm /077 ! -type l -printf '  %p (was %m)\n')
	[[ -z $open ]] && return 0
	chmod -R go= "$STATE"
	echo "run.sh: $STATE was open to group or others; made it private (chmod -R go= $STATE):"
	echo "$open"
}

# An asyncd from an earlier run still holds the state directory (its pid is in asyncd.lock,
# which it keeps locked): name it, and how to stop it.
refuse_stale() {
	local holder cmd
	[[ -f $LOCK ]] || return 0
	command -v flock >/dev/null 2>&1 || return 0
	flock -n "$LOCK" true 2>/dev/null && return 0
	holder=$(tr -dc 0-9 <"$LOCK")
	cmd=$(ps -o args= -p "${holder:-0}" 2>/dev/null || true)
	die "an asyncd from an earlier run still uses $STATE: pid ${holder:-unknown}${cmd:+ ($cmd)};" \
		"stop it with: kill ${holder:-PID}"
}

check() {
	[[ -x $BIN/asyncd ]] || die "$BIN/asyncd is missing: run 'make build' first"
	prepare_state
	refuse_stale
	if [[ -f $URL_FILE ]] && healthy "$(read_url)"; then
		die "an asyncd is already running at $(read_url) with state in $STATE"
	fi
	rm -f "$URL_FILE"
	: >"$LOG"
}

# In the helper: wait for asyncd (pid $pid) to answer; 1 when it exited or did not answer.
wait_ready() {
	local deadline=$((SECONDS + STARTUP_TIMEOUT)) url
	while ((SECONDS < deadline)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			show_log_tail
			echo "run.sh: asyncd exited during startup" >&2
			return 1
		fi
		if [[ -f $URL_FILE ]]; then
			url=$(read_url)
			if [[ -n $url ]] && healthy "$url"; then
				URL=$url
				return 0
			fi
		fi
		sleep 0.1
	done
	show_log_tail
	echo "run.sh: asyncd did not write $URL_FILE and answer /healthz within" \
		"${STARTUP_TIMEOUT}s; stopping it" >&2
	kill -TERM "$pid" 2>/dev/null || true
	return 1
}

register_samples() {
	local ctl=("$BIN/asyncctl" --state-dir "$STATE")
	[[ -f $MARKER ]] && return 0
	echo "run.sh: first run: registering the sample assembly $SAMPLES"
	local step
	if "${ctl[@]}" assembly register "$SAMPLES" &&
		step=$("${ctl[@]}" step add --type samples.echo --message Create --entity account); then
		echo "run.sh: added step $step: Create account -> samples.echo"
		touch "$MARKER"
	else
		echo "run.sh: warning: registering the samples failed; asyncd keeps running" \
			"(the next 'make run' tries again)" >&2
	fi
}

banner() {
	cat <<EOF

asyncd is running at $URL  (pid $pid, state in $STATE/)
  console: $URL/   (the web console; log in with a user that has a password, 12+ characters)
          first login: make an administrator with a password, read from stdin:
          $BIN/asyncctl --state-dir $STATE user add me --role "System Administrator" --password-stdin
  logs:   $LOG   (tail -f $LOG)
  token:  $STATE/admin.token  (System Administrator; use it as a bearer token)
          curl -H "Authorization: Bearer \$(cat $STATE/admin.token)" $URL/api/v1/jobs
  try:    $BIN/asyncctl --state-dir $STATE event raise --message Create --entity account --id 42 --target '{"name":"Contoso"}' --wait
          (raises an event; its samples.echo job is shown Succeeded)
  stop:   Ctrl-C  (or kill $pid)

EOF
}

# The helper: beside asyncd, not its child (no zombie for asyncd to reap); it ends when its work
# is done or asyncd is gone. SIGPIPE (a tee already gone) ends it quietly.
helper() {
	trap 'exit 0' PIPE
	wait_ready || exit 1
	register_samples
	banner
}

main() {
	check
	pid=$$ # what asyncd will be: this process, after the exec below
	(helper &)
	exec "$BIN/asyncd" --exit-with-parent --state-dir "$STATE" --listen "$LISTEN" >>"$LOG" 2>&1
}

main "$@"
