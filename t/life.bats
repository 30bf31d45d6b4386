#!/usr/bin/env bats
# t/life.bats: the job's life past one run: dependencies (--after,
# --after-any), children (--child), waiting for results (aq-put -w),
# retry delays, waking for scheduled jobs, and retention (aq-run
# --keep).  Cancel is in t/cancel.bats, notes in t/note.bats.  No fake clock: short durations, bounded
# waits, and only lower bounds on times, which a slow machine cannot
# break.

load helper
load worker

# ---- dependencies: bad input ----

@test "aq-put --after a missing job exits 66 and puts nothing, nor a batch" {
	run --separate-stderr aq-put --after 5 true
	assert_failure 66
	assert_output ''
	assert_stderr "aq-put: no such job '5'"
	assert_no_jobs
	put_ok 1 true
	run --separate-stderr aq-put --after 1 --after-any 9 true
	assert_failure 66
	assert_stderr "aq-put: no such job '9'"
	run --separate-stderr aq-put --after 7 -b <<-'EOF'
	true
	true
	EOF
	assert_failure 66
	assert_stderr "aq-put: no such job '7'"
	assert_jobs 1
	# The next id is still 2: nothing was given out.
	put_ok 2 true
}

@test "aq-put --after with a bad id exits 65 and puts nothing" {
	for id in 0 -1 x 1x ''; do
		run --separate-stderr aq-put --after "$id" true
		assert_failure 65
		assert_output ''
		assert_stderr_match "^aq-put: bad job id '"
		run --separate-stderr aq-put --after-any "$id" true
		assert_failure 65
		assert_stderr "aq-put: bad job id '$id'"
	done
	assert_no_jobs
}

@test "aq-put naming a dependency twice exits 65 and puts nothing" {
	put_ok 1 true
	run --separate-stderr aq-put --after 1 --after 1 true
	assert_failure 65
	assert_stderr "aq-put: job '1' named twice as a dependency"
	run --separate-stderr aq-put --after 1 --after-any 1 true
	assert_failure 65
	assert_stderr "aq-put: job '1' named twice as a dependency"
	assert_jobs 1
}

# ---- dependencies ----

@test "a job --after another is blocked until it ends ok, then claimable" {
	put_ok 1 true
	put_ok 2 --after 1 -n second true
	run --separate-stderr aq-status --json 2
	assert_json '[0].reason' '"blocked"'
	assert_json '[0].after[0].id' 1
	assert_json '[0].waits' 1
	run --separate-stderr aq-status 2
	assert_line 'after:     1 (waiting for 1)'
	run --separate-stderr aq-status --json
	assert_json '.queues.default.blocked' 1
	assert_json '.queues.default.ready' 1
	claim_ok 1
	claim_none
	run aq-claim --done 1
	assert_success
	claim_ok 2
}

@test "a chain of 3 where the middle fails: the third is skipped and never runs" {
	put_ok 1 -c 'echo 1 >>ran'
	put_ok 2 --after 1 -c 'echo 2 >>ran; exit 3'
	put_ok 3 --after 2 -c 'echo 3 >>ran'
	put_ok 4 --after 3 -c 'echo 4 >>ran'
	run timeout 60 aq-run --drain
	assert_success
	outcomes_are 1=ok 2=failed 3=skipped 4=skipped
	[ "$(cat ran)" = "$(printf '1\n2')" ]
	job_is 3 .attempt 0
	assert_json '[0].started' null
	run aq-status -w 3
	assert_failure 1
	run --separate-stderr aq-status --json
	assert_json '.queues.default.skipped' 2
}

@test "fan-in: a job --after 50 others runs once all 50 ended ok" {
	local k args=()
	for k in $(seq 50); do
		put_ok "$k" -c "echo $k >>done.txt"
		args+=(--after "$k")
	done
	put_ok 51 "${args[@]}" -c 'wc -l <done.txt >count'
	job_is 51 .waits 50
	run timeout 120 aq-run --drain -j 4
	assert_success
	outcomes_are 51=ok
	[ "$(cat count)" -eq 50 ]
}

@test "fan-in: one of 50 failing skips the job that needs them all" {
	local k args=()
	for k in $(seq 50); do
		if [ "$k" -eq 37 ]; then
			put_ok "$k" false
		else
			put_ok "$k" true
		fi
		args+=(--after "$k")
	done
	put_ok 51 "${args[@]}" -c 'echo ran >ran'
	run timeout 120 aq-run --drain -j 4
	assert_success
	outcomes_are 37=failed 51=skipped
	[ ! -e ran ]
}

@test "--after-any runs whatever the outcome and sees AQ_AFTER_ID, _STATUS, _OUTCOME" {
	put_ok 1 -c 'exit 3'
	put_ok 2 --after-any 1 -c 'echo "$AQ_AFTER_ID $AQ_AFTER_STATUS $AQ_AFTER_OUTCOME" >seen'
	put_ok 3 --after 1 -c 'echo ran >ran3'
	put_ok 4 -c 'kill -9 $$'
	put_ok 5 --after-any 4 --after-any 1 -c 'echo "$AQ_AFTER_ID $AQ_AFTER_STATUS $AQ_AFTER_OUTCOME" >seen5'
	put_ok 6 true
	put_ok 7 --after-any 6 -c 'echo "$AQ_AFTER_ID $AQ_AFTER_STATUS $AQ_AFTER_OUTCOME" >seen7; env | grep -c "^AQ_AFTER_" >n7'
	put_ok 8 -c 'env | grep -c "^AQ_AFTER_" >n8; true'
	run timeout 60 aq-run --drain
	assert_success
	outcomes_are 1=failed 2=ok 3=skipped 5=ok 7=ok 8=ok
	[ "$(cat seen)" = "1 3 failed" ]
	# The first dependency named is the one shown.
	[ "$(cat seen5)" = "4 137 failed" ]
	[ "$(cat seen7)" = "6 0 ok" ]
	[ "$(cat n7)" = 3 ]
	[ "$(cat n8)" = 0 ]
	[ ! -e ran3 ]
}

@test "a dependency that ended already is resolved at once: ok lets it run, failed skips it at put" {
	put_ok 1 true
	put_ok 2 false
	run timeout 60 aq-run --drain
	assert_success
	put_ok 3 --after 1 true
	job_is 3 .reason '"ready"'
	put_ok 4 --after 2 true
	job_is 4 .outcome '"skipped"'
	put_ok 5 --after-any 2 -c 'echo $AQ_AFTER_OUTCOME >seen'
	job_is 5 .reason '"ready"'
	run timeout 60 aq-run --drain
	assert_success
	outcomes_are 3=ok 4=skipped 5=ok
	[ "$(cat seen)" = failed ]
}

@test "a long chain runs in order to the end" {
	local k
	put_ok 1 -c 'echo 1 >>order'
	for k in $(seq 2 40); do
		put_ok "$k" --after $((k - 1)) -c "echo $k >>order"
	done
	run timeout 120 aq-run --drain -j 4
	assert_success
	[ "$(cat order)" = "$(seq 40)" ]
}

# ---- children ----

@test "aq-put --child outside a job exits 64; with a job that is not running, 65" {
	unset AQ_JOB_ID
	run --separate-stderr aq-put --child true
	assert_failure 64
	assert_output ''
	assert_stderr_match "^aq-put: --child: AQ_JOB_ID is not set"
	assert_no_jobs
	put_ok 1 true
	AQ_JOB_ID=1 run --separate-stderr aq-put --child true
	assert_failure 65
	assert_stderr "aq-put: job '1' is not running: only a running job has children"
	AQ_JOB_ID=9 run --separate-stderr aq-put --child true
	assert_failure 66
	assert_stderr "aq-put: no such job '9'"
	AQ_JOB_ID=x run --separate-stderr aq-put --child true
	assert_failure 65
	assert_stderr "aq-put: bad job id 'x'"
	assert_jobs 1
}

@test "a parent is not done until its children are: a child failing makes it failed" {
	put_ok 1 -c 'aq-put --child -c "sleep 1; exit 3" >kid1; aq-put --child -c "sleep 1" >kid2; echo parent done'
	start_worker -j 3
	wait_for 30 file_has_lines kid2 1
	wait_for 30 job_done 1
	outcomes_are 2=failed 3=ok 1=failed
	run --separate-stderr aq-status --json 1
	assert_json '[0].children[0]' 2
	assert_json '[0].children[1]' 3
	assert_json '[0].children_left' 0
	# Its own run was ok: the children made it failed.
	assert_json '[0].exit' 0
	# It ended when its last child did, not before.
	local pend kend
	pend=$(json_time '[0].ended')
	run --separate-stderr aq-status --json 2
	assert_json '[0].parent' 1
	kend=$(json_time '[0].ended')
	[ "$pend" -ge "$kend" ]
	run aq-status -w 1
	assert_failure 1
	run --separate-stderr aq-status 1
	assert_line 'children:  2 3'
	run --separate-stderr aq-status 2
	assert_line 'parent:    1'
}

@test "a parent whose children all end ok ends ok; its dependents wait for the children" {
	put_ok 1 -c 'aq-put --child -c "sleep 1; echo kid >>log" >/dev/null; echo parent >>log'
	put_ok 2 --after 1 -c 'echo after >>log'
	run timeout 60 aq-run --drain -j 2
	assert_success
	outcomes_are 1=ok 3=ok 2=ok
	[ "$(cat log)" = "$(printf 'parent\nkid\nafter')" ]
	run --separate-stderr aq-status --json 1
	assert_json '[0].outcome' '"ok"'
	assert_json '[0].children[0]' 3
}

@test "a parent waiting for its children stays active; aq-status shows the children left" {
	put_ok 1 -c "aq-put --child -c 'sleep 30 # $(tag kid)' >/dev/null"
	start_worker -j 2
	wait_for 30 job_active 2
	wait_for 30 eval 'aq-status 1 | grep -qx "children:  2 (1 not done)"'
	job_is 1 .state '"active"'
	assert_json '[0].children_left' 1
	run aq-cancel 2
	assert_success
	wait_for 30 job_done 1
	outcomes_are 2=cancelled 1=failed
}

@test "a parent whose own run timed out ends timeout, after its children" {
	put_ok 1 --timeout 1s -c "aq-put --child -c 'sleep 2; echo kid >kid' >/dev/null; sleep 60 # $(tag p)"
	start_worker -j 2 --grace 1s
	wait_for 60 job_done 1
	outcomes_are 2=ok 1=timeout
	[ "$(cat kid)" = kid ]
	run aq-status -w 1
	assert_failure 124
}

# ---- waiting ----

@test "aq-put -w waits for the job and exits with its status" {
	start_worker
	run --separate-stderr timeout 30 aq-put -w -c 'exit 4'
	assert_failure 4
	assert_output 1
	run --separate-stderr timeout 30 aq-put -w true
	assert_success
	assert_output 2
	run --separate-stderr timeout 30 aq-put -w -c 'kill -9 $$'
	assert_failure 137
}

@test "aq-put -w of a job skipped at once returns at once with 1" {
	put_ok 1 false
	run timeout 60 aq-run --drain
	run --separate-stderr timeout 10 aq-put -w --after 1 true
	assert_failure 1
	assert_output 2
}

@test "aq-status -w waits on several jobs and exits with the worst status" {
	start_worker -j 3
	put_ok 1 -c 'sleep 1; exit 2'
	put_ok 2 true
	put_ok 3 -c 'exit 7'
	run timeout 30 aq-status -w 1 2 3
	assert_failure 7
	run timeout 30 aq-status -w 2
	assert_success
}

# ---- retries and schedules ----

@test "the history keeps every run: an ended one has its outcome, a released one none" {
	put_ok 1 --retries 1 --retry-delay 100ms true
	claim_ok 1
	run aq-claim --done 1 -x 3
	assert_success
	sleep 0.3
	claim_ok 1
	run aq-claim --release 1
	assert_success
	claim_ok 1
	run aq-claim --done 1
	assert_success
	run --separate-stderr aq-status --json 1
	assert_json '[0].outcome' '"ok"'
	assert_json '[0].history[0].how' '"ended"'
	assert_json '[0].history[0].outcome' '"failed"'
	assert_json '[0].history[0].exit' 3
	assert_json '[0].history[1].how' '"released"'
	assert_json '[0].history[1].outcome' null
	assert_json '[0].history[1].exit' null
	assert_json '[0].history[2].how' '"ended"'
	assert_json '[0].history[2].outcome' '"ok"'
	assert_json '[0].history[2].attempt' 3
	run --separate-stderr aq-status 1
	assert_line --regexp '^run:       2 released .* by [0-9a-f-]+$'
}

@test "retry delays double: 0.5 s, 1 s, 2 s between attempts" {
	put_ok 1 --retries 3 --retry-delay 500ms -c 'date +%s%3N >>starts; exit 1'
	start_worker
	wait_for 60 job_done 1
	outcomes_are 1=failed
	job_is 1 .attempt 4
	local t=() k
	mapfile -t t <starts
	[ "${#t[@]}" -eq 4 ]
	# Jitter is 10%: at least 450, 900 and 1800 ms apart.
	[ $(( t[1] - t[0] )) -ge 450 ]
	[ $(( t[2] - t[1] )) -ge 900 ]
	[ $(( t[3] - t[2] )) -ge 1800 ]
	run --separate-stderr aq-status --json 1
	assert_json '[0].history[3].attempt' 4
	for k in 0 1 2 3; do
		assert_json "[0].history[$k].how" '"ended"'
		assert_json "[0].history[$k].exit" 1
	done
}

@test "a worker wakes for a scheduled job at its time, not at its next poll" {
	start_worker -i 1h
	wait_for 10 waiting_in_poll "$wpid"
	local t0
	t0=$(now_ms)
	put_ok 1 --at +2s -c 'date +%s%3N >started'
	wait_for 30 job_done 1
	[ $(( $(cat started) - t0 )) -ge 1900 ]
}

# ---- retention ----

@test "aq-run --keep with a bad duration exits 65" {
	run --separate-stderr aq-run --keep soon --drain
	assert_failure 65
	assert_stderr "aq-run: bad duration 'soon'"
	[ ! -e "$AQ_HOME" ]
}

@test "retention purges only what ended before the period: the job, its notes and its output" {
	put_ok 1 -c 'echo old'
	run timeout 60 aq-run --drain
	assert_success
	aq-note 1 k=v
	sleep 3
	put_ok 2 -c 'echo young'
	put_ok 3 --hold true
	run timeout 60 aq-run --drain --keep 2s
	assert_success
	assert_output --partial 'purged 1 job that ended before'
	run --separate-stderr aq-status 1
	assert_failure 66
	run --separate-stderr aq-note 1
	assert_failure 66
	[ ! -e "$AQ_HOME/out/1" ]
	outcomes_are 2=ok 3=pending
	[ -e "$AQ_HOME/out/2" ]
	run aq-status -o 2
	assert_output young
}

@test "retention keeps a job others depend on until they are purged" {
	put_ok 1 true
	put_ok 2 --after 1 --hold true
	run timeout 60 aq-run --drain
	sleep 2
	run timeout 60 aq-run --drain --keep 1s
	assert_success
	outcomes_are 1=ok 2=pending
	run aq-job --release 2
	assert_success
	run timeout 60 aq-run --drain --keep 1s
	outcomes_are 1=ok 2=ok
	sleep 2
	run timeout 60 aq-run --drain --keep 1s
	assert_success
	assert_output --partial 'purged 2 jobs'
	run aq-status 1
	assert_failure 66
	run aq-status 2
	assert_failure 66
}

@test "by default done jobs are kept: a worker purges nothing young" {
	put_ok 1 true
	run timeout 60 aq-run --drain
	run timeout 60 aq-run --drain
	assert_success
	refute_output --partial purged
	outcomes_are 1=ok
}
