#!/usr/bin/env bash
# Start a development asyncd from build/ (`make run`), in the foreground.
#
# State lives in ./var (ASYNCD_STATE_DIR overrides); asyncd listens on 127.0.0.1:8470
# (ASYNCD_LISTEN overrides) and logs to STATE/asyncd.log. On the first run the sample assembly is
# registered and a step "Create account -> samples.echo" is added, so that raising an event shows
# a job running at once. Ctrl-C (SIGINT) or SIGTERM stops asyncd cleanly (it gets a SIGTERM).
set -euo pipefail
umask 077 # the log and markers in the state directory are private too

cd "$(dirname "$0")/.."

BIN=build/src/bin
SAMPLES=build/plugins/samples/samples.so
STATE=${ASYNCD_STATE_DIR:-var}
LISTEN=${ASYNCD_LISTEN:-127.0.0.1:8470}
STARTUP_TIMEOUT=${ASYNCD_STARTUP_TIMEOUT:-15}
LOG=$STATE/asyncd.log
URL_FILE=$STATE/asyncd.url
MARKER=$STATE/.samples-registered

pid=
stopping=0

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

# forward a stop request to asyncd; keep waiting for it to finish
# shellcheck disable=SC2317 # called from the traps
forward() {
	stopping=1
	if [[ -n $pid ]]; then
		echo "run.sh: $1: stopping asyncd (pid $pid)" >&2
		kill -TERM "$pid" 2>/dev/null || true
	fi
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

start() {
	[[ -x $BIN/asyncd ]] || die "$BIN/asyncd is missing: run 'make build' first"
	prepare_state
	if [[ -f $URL_FILE ]] && healthy "$(read_url)"; then
		die "an asyncd is already running at $(read_url) with state in $STATE"
	fi
	rm -f "$URL_FILE"
	: >"$LOG"
	trap 'forward SIGINT' INT
	trap 'forward SIGTERM' TERM
	trap 'forward SIGHUP' HUP
	# its own session: a Ctrl-C reaches asyncd once, as the SIGTERM forwarded from here
	local setsid=()
	if command -v setsid >/dev/null 2>&1; then
		setsid=(setsid)
	fi
	"${setsid[@]}" "$BIN/asyncd" --state-dir "$STATE" --listen "$LISTEN" >>"$LOG" 2>&1 &
	pid=$!
}

wait_ready() {
	local deadline=$((SECONDS + STARTUP_TIMEOUT)) url
	while ((SECONDS < deadline)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" || true
			((stopping)) && exit 1
			show_log_tail
			die "asyncd exited during startup"
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
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || true
	die "asyncd did not write $URL_FILE and answer /healthz within ${STARTUP_TIMEOUT}s"
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
  stop:   Ctrl-C

EOF
}

main() {
	local rc=0
	start
	wait_ready
	register_samples
	banner
	# wait returns early (status > 128) when a trapped signal arrives: keep waiting until
	# asyncd has really exited, then pass on its status
	while :; do
		if wait "$pid"; then
			rc=0
		else
			rc=$?
		fi
		kill -0 "$pid" 2>/dev/null || break
	done
	if ((rc > 128)); then
		# maybe the trap's interruption, with asyncd reaped meanwhile: ask for its own status
		# (127 means the status above was already asyncd's)
		local again=0
		wait "$pid" 2>/dev/null || again=$?
		((again == 127)) || rc=$again
	fi
	pid=
	if ((rc != 0)); then
		show_log_tail
		echo "run.sh: asyncd exited with status $rc" >&2
	else
		echo "run.sh: asyncd stopped"
	fi
	exit "$rc"
}

main "$@"
