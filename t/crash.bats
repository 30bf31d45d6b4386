#!/usr/bin/env bats
# Crash: kill -9 aq-put, aq-claim and aq-run processes at random moments
# while others put, claim and run (scripts/crash-load).  Afterwards every id that
# aq-put printed is stored exactly once, no command hung past its time
# limit, no job was claimed twice, and nobody ran db_recover by hand: the
# programs recovered the environment themselves.  Workers killed while
# jobs wait on each other leave no job blocked for ever and none run
# before what it waits for.

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

@test "workers killed while a chain and a fan-in run: every job ends ok, each after its dependencies" {
	local k args=() pid n
	aq-put -c 'sleep 0.1; echo 1 >>order' >/dev/null
	for k in $(seq 2 20); do
		aq-put --after $((k - 1)) -c "sleep 0.1; echo $k >>order" >/dev/null
	done
	for k in $(seq 21 30); do
		aq-put -c "sleep 0.2; echo $k >>fan" >/dev/null
		args+=(--after "$k")
	done
	aq-put "${args[@]}" -c 'sort -u fan | wc -l >count' >/dev/null
	for n in $(seq 40); do
		[ "$(count_jobs default done)" -eq 31 ] && break
		aq-run -j 2 </dev/null >>worker.log 2>&1 &
		pid=$!
		sleep "0.$((RANDOM % 6 + 3))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	run timeout 120 aq-run --drain -j 2
	assert_success
	run --separate-stderr aq-status --json
	assert_json '.queues.default.ok' 31
	# A job may have run twice (killed mid-run), but never before its
	# dependency ended: the first runs come in chain order.
	[ "$(awk '!seen[$0]++' order | tr '\n' ' ')" = "$(seq 20 | tr '\n' ' ')" ]
	[ "$(cat count)" -eq 10 ]
}
