# t/worker.bash: loaded after helper by the tests that start workers
# (`load worker`): background aq-run processes that teardown kills, bounded
# waits on jobs, and a tag that finds the jobs a test started.

# start_worker ARGS...: run aq-run ARGS in the background, its log in
# $BATS_TEST_TMPDIR/worker.log (appended), its pid in $wpid and in the
# workers array that teardown kills.
start_worker() {
	aq-run "$@" </dev/null >>"$BATS_TEST_TMPDIR/worker.log" 2>&1 &
	wpid=$!
	workers+=("$wpid")
}

# wait_for SECONDS CMD...: run CMD every 50 ms until it succeeds; fail
# after SECONDS.
wait_for() {
	local limit=$(( $1 * 20 )) n=0
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n + 1))
		if [ "$n" -ge "$limit" ]; then
			fail "gave up waiting for: $*"
			return 1
		fi
		sleep 0.05
	done
}

# wait_exit PID SECONDS: wait for a background worker to exit; its status
# in $wstatus.  Fails if it is still running after SECONDS.
wait_exit() {
	local n=0
	while kill -0 "$1" 2>/dev/null; do
		n=$((n + 1))
		if [ "$n" -ge $(( $2 * 20 )) ]; then
			fail "worker $1 still running after $2 s"
			return 1
		fi
		sleep 0.05
	done
	wait "$1" && wstatus=0 || wstatus=$?
}

# job_is ID PATH VALUE: the JSON of job ID has VALUE at PATH.
job_is() {
	run --separate-stderr aq-status --json "$1"
	assert_success
	assert_json "[0]$2" "$3"
}

job_done() {
	local out
	out=$(aq-status --json "$1" 2>/dev/null) || return 1
	[[ "$out" == *'"state":"done"'* ]]
}

job_active() {
	local out
	out=$(aq-status --json "$1" 2>/dev/null) || return 1
	[[ "$out" == *'"state":"active"'* ]]
}

job_pending() {
	local out
	out=$(aq-status --json "$1" 2>/dev/null) || return 1
	[[ "$out" == *'"state":"pending"'* ]]
}

# waiting_in_poll PID: the process sleeps in poll(2) (if the kernel does
# not tell, after a second of quiet).
waiting_in_poll() {
	local w
	w=$(cat "/proc/$1/wchan" 2>/dev/null)
	case $w in
	*poll*) return 0 ;;
	''|0) sleep 1; return 0 ;;
	esac
	return 1
}

# gone PID: no such process, or a zombie (its parent may be gone too, and
# not every container's init reaps).
gone() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "${st%% *}" = Z ] || [ "${st%% *}" = X ]
}

file_has_lines() {	# FILE N
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

teardown_workers() {
	local p
	for p in ${workers[@]+"${workers[@]}"}; do
		# Only if it is still ours: pids come round again quickly.
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = aq-run ] &&
		    kill -9 "$p" 2>/dev/null
	done
	# Jobs run in their own sessions: stop the ones tests started.
	pkill -9 -f "$(tag '')" 2>/dev/null
	return 0
}

teardown() {
	teardown_workers
	if [ -f "$BATS_TEST_TMPDIR/worker.log" ] && [ -n "${BATS_ERROR_STATUS:-}" ]; then
		sed 's/^/# worker: /' "$BATS_TEST_TMPDIR/worker.log" >&3
	fi
	cd / || return 0
	[ -z "${AQ_TEST_KEEP:-}" ] && rm -rf "${BATS_TEST_TMPDIR:?}"/* 2>/dev/null
	return 0
}

# A tag in a job's command line lets teardown find what a test started:
# the run's own directory in it keeps test files that make check runs at
# once from killing each other's commands (each has a test 6).
tag() { echo "aq-test-job-${BATS_RUN_TMPDIR##*/}-$BATS_TEST_NUMBER-$1"; }
