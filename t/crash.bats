#!/usr/bin/env bats
# Crash: kill -9 aq-put, aq-claim and aq-run processes at random moments
# while others put, claim and run (scripts/crash-load).  Afterwards every id that
# aq-put printed is stored exactly once, no command hung past its time
# limit, no job was claimed twice, and nobody ran db_recover by hand: the
# programs recovered the environment themselves.

load helper

@test "50 kills under load: nothing lost, nothing hung, recovered by itself" {
	run timeout 900 "$AQ_SRCDIR/scripts/crash-load" "$AQ_HOME" 50 4 4
	echo "$output"
	assert_success
	assert_line "crash-load: ok"
	assert_line --regexp 'recoveries [1-9][0-9]*$'
}

@test "30 kills of putters, claimers and workers: every job of the workers' queue ends ok" {
	run timeout 900 "$AQ_SRCDIR/scripts/crash-load" "$AQ_HOME" 30 2 2 2
	echo "$output"
	assert_success
	assert_line "crash-load: ok"
	assert_line --regexp '^crash-load: workers: [1-9][0-9]* jobs put in queue w, [1-9][0-9]* ended ok'
}

@test "a process killed inside the environment is recovered by the next" {
	aq-put true >/dev/null
	# A claimer that waits holds the environment open between tries.
	aq-claim -q other -w 30 >/dev/null 2>&1 &
	pid=$!
	sleep 0.5
	kill -9 "$pid"
	wait "$pid" || true
	run --separate-stderr timeout 20 aq-put true
	assert_success
	assert_output 2
	run --separate-stderr timeout 20 aq-status -l
	assert_success
	assert_line --index 0 --regexp '^1 pending/ready default'
	assert_line --index 1 --regexp '^2 pending/ready default'
}
