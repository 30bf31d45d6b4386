#!/usr/bin/env bats
# t/cancel.bats: aq-cancel.  A pending job ends cancelled and never runs,
# its dependents skipped; a running one is stopped by its worker (SIGTERM,
# SIGKILL after the grace period); a done one is left as it is, with exit
# status 1.  Bad input first: each changes nothing.

load helper
load worker

@test "aq-cancel -h, --help, -V and --version" {
	help_and_version_ok aq-cancel
}

@test "aq-cancel without an environment exits 69 and makes none" {
	run --separate-stderr aq-cancel 1
	assert_failure 69
	assert_stderr_match "^aq-cancel: "
	[ ! -e "$AQ_HOME" ]
}

@test "aq-cancel with a bad option or no id exits 64; a bad id 65; a missing job 66" {
	run --separate-stderr aq-cancel
	assert_usage_error aq-cancel
	run --separate-stderr aq-cancel -Z 1
	assert_usage_error aq-cancel
	run --separate-stderr aq-cancel x
	assert_failure 65
	assert_stderr "aq-cancel: bad job id 'x'"
	put_ok 1 true
	run --separate-stderr aq-cancel 7
	assert_failure 66
	assert_stderr "aq-cancel: no such job '7'"
	job_is 1 .reason '"ready"'
	# A bad id among good ones: none is cancelled.
	run --separate-stderr aq-cancel 1 x
	assert_failure 65
	assert_stderr "aq-cancel: bad job id 'x'"
	job_is 1 .reason '"ready"'
	run --separate-stderr aq-cancel -w
	assert_usage_error aq-cancel
}

@test "aq-cancel of a pending job: it ends cancelled and never runs; its dependents are skipped" {
	put_ok 1 -c 'echo ran >ran'
	put_ok 2 --after 1 true
	put_ok 3 --after-any 1 -c 'echo $AQ_AFTER_OUTCOME >seen'
	run --separate-stderr aq-cancel 1
	assert_success
	assert_output ''
	outcomes_are 1=cancelled 2=skipped
	run timeout 60 aq-run --drain
	assert_success
	[ ! -e ran ]
	outcomes_are 3=ok
	[ "$(cat seen)" = cancelled ]
	run aq-status -w 1
	assert_failure 1
}

@test "aq-cancel of a done job says so, exits 1 and changes nothing; the others are still cancelled" {
	put_ok 1 true
	run timeout 60 aq-run --drain
	put_ok 2 true
	run --separate-stderr aq-cancel 1 2
	assert_failure 1
	assert_stderr_match "^aq-cancel: job '1' is done"
	outcomes_are 1=ok 2=cancelled
	# Cancelled already: the same, and it stays cancelled.
	run --separate-stderr aq-cancel 2
	assert_failure 1
	assert_stderr "aq-cancel: job '2' is done already (cancelled)"
	outcomes_are 2=cancelled
}

@test "aq-cancel of a running job: its worker stops it within seconds, SIGKILL if it ignores SIGTERM" {
	put_ok 1 -c "trap '' TERM; echo started >started; sleep 60 # $(tag a)"
	start_worker --grace 1s -v
	wait_for 30 test -e started
	local t0
	t0=$(now)
	run --separate-stderr timeout 30 aq-cancel -w 1
	assert_success
	outcomes_are 1=cancelled
	# Within a second of looking, plus the grace: well under the sleep.
	[ $(( $(now) - t0 )) -lt 30 ]
	job_is 1 .signal 9
	run aq-status -w 1
	assert_failure 1
	# The worker logs the end after it committed it: the wait may win.
	wait_for 30 grep -q 'job 1 ended cancelled (signal 9)' worker.log
	# The worker goes on: the next job runs.
	put_ok 2 true
	wait_for 30 job_done 2
	outcomes_are 2=ok
}

@test "aq-cancel of a job its launcher has not started yet: the signal waits and stops it as it starts" {
	local launcher
	start_worker --grace 60s -v
	wait_for 10 pgrep -P "$wpid" -f 'aq-run: launcher'
	launcher=$(pgrep -P "$wpid" -f 'aq-run: launcher')
	wait_for 10 waiting_in_poll "$wpid"
	# The launcher reads nothing: the job and the signal both wait.
	kill -STOP "$launcher"
	put_ok 1 -c "sleep 60 # $(tag a)"
	wait_for 30 job_active 1
	run --separate-stderr timeout 30 aq-cancel 1
	assert_success
	wait_for 30 grep -q 'job 1: cancelled' worker.log
	kill -CONT "$launcher"
	wait_for 30 job_done 1
	outcomes_are 1=cancelled
	# SIGTERM, not SIGKILL after the grace: the signal was not lost
	job_is 1 .signal 15
}

@test "aq-cancel -w of a job asked to stop before waits all the same" {
	put_ok 1 -c "trap '' TERM; echo started >started; sleep 60 # $(tag a)"
	start_worker --grace 2s
	wait_for 30 test -e started
	run --separate-stderr aq-cancel 1
	assert_success
	run --separate-stderr timeout 30 aq-cancel -w 1
	assert_success
	outcomes_are 1=cancelled
}

@test "a cancelled job is not retried, whatever its retries" {
	put_ok 1 --retries 5 --retry-delay 100ms -c "echo x >>runs; sleep 60 # $(tag a)"
	start_worker --grace 1s
	wait_for 30 test -e runs
	run timeout 30 aq-cancel -w 1
	assert_success
	outcomes_are 1=cancelled
	sleep 1
	job_is 1 .attempt 1
	[ "$(wc -l <runs)" -eq 1 ]
}
