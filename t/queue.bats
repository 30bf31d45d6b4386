#!/usr/bin/env bats
# t/queue.bats: aq-queue, paused queues, and workers that serve every
# queue (aq-run -q '*').

load helper

claim_id() {
	local out
	out=$(timeout 20 aq-claim -l 1h "$@" 2>/dev/null) || { echo none; return 0; }
	echo "${out%%	*}"
}

@test "aq-queue -h, --help, -V and --version" {
	help_and_version_ok aq-queue
}

@test "aq-queue with a bad option or verb, or no queue, exits 64 with the usage" {
	put_ok 1 true
	for args in "-Z" "stop default" "pause" "resume" "--json pause default"; do
		# shellcheck disable=SC2086
		run --separate-stderr aq-queue $args
		assert_usage_error aq-queue
	done
	run --separate-stderr aq-queue --json
	assert_json '.queues[0].paused' false
}

@test "aq-queue without an environment exits 69 and makes none" {
	run --separate-stderr aq-queue
	assert_failure 69
	[ ! -e "$AQ_HOME" ]
}

@test "queues come from puts; aq-queue lists them with their counts" {
	put_ok 1 true
	put_ok 2 -q mail true
	put_ok 3 -q mail true
	[ "$(claim_id -q mail)" = 2 ]
	run --separate-stderr aq-queue
	assert_success
	assert_line --index 0 --regexp '^QUEUE +STATE +PENDING +ACTIVE +DONE$'
	assert_line --index 1 --regexp '^default +running +1 +0 +0$'
	assert_line --index 2 --regexp '^mail +running +1 +1 +0$'
	run --separate-stderr aq-queue --json
	assert_json '.queues[1].name' '"mail"'
	assert_json '.queues[1].pending' 1
	assert_json '.queues[1].active' 1
}

@test "a paused queue keeps its jobs and takes new ones, but none is claimed" {
	put_ok 1 -q mail true
	put_ok 2 true
	run --separate-stderr aq-queue pause mail
	assert_success
	assert_output ''
	put_ok 3 -q mail true
	[ "$(claim_id -q mail)" = none ]
	[ "$(claim_id -q mail -q default)" = 2 ]
	run --separate-stderr aq-status
	assert_line --regexp '^mail pending 2 .* paused$'
	run --separate-stderr aq-status --json
	assert_json '.queues.mail.paused' true
	assert_json '.queues.default.paused' false
	run --separate-stderr aq-queue resume mail
	assert_success
	[ "$(claim_id -q mail)" = 1 ]
	run --separate-stderr aq-queue --json
	assert_json '.queues[1].paused' false
}

@test "pausing spares the running jobs" {
	put_ok 1 -c 'sleep 1; echo done >out'
	aq-run --drain </dev/null >worker.log 2>&1 &
	local w=$! n=0
	until [ "$(aq-status --json 1 2>/dev/null | grep -c '"state":"active"')" -eq 1 ] ||
	    [ $n -ge 200 ]; do sleep 0.05; n=$((n + 1)); done
	run aq-queue pause default
	assert_success
	wait "$w"
	[ "$(cat out)" = done ]
	run --separate-stderr aq-status --json 1
	assert_json '[0].outcome' '"ok"'
}

@test "pausing a missing queue exits 66 and changes none of the others" {
	put_ok 1 -q a true
	put_ok 2 -q b true
	run --separate-stderr aq-queue pause a nope b
	assert_failure 66
	assert_stderr "aq-queue: no such queue 'nope'"
	run --separate-stderr aq-queue --json
	assert_json '.queues[0].paused' false
	assert_json '.queues[1].paused' false
}

@test "a bad queue name exits 65; '*' cannot be put into" {
	put_ok 1 true
	run --separate-stderr aq-queue pause 'a/b'
	assert_failure 65
	assert_stderr "aq-queue: bad queue name 'a/b'"
	run --separate-stderr aq-put -q '*' true
	assert_failure 65
	assert_stderr "aq-put: bad queue name '*'"
	assert_jobs 1
}

@test "aq-run -q '*' serves every queue but the paused ones" {
	put_ok 1 -q a -c 'echo a >>ran'
	put_ok 2 -q b -c 'echo b >>ran'
	put_ok 3 -q c -c 'echo c >>ran'
	run aq-queue pause c
	run timeout 30 aq-run --drain -q '*'
	assert_success
	[ "$(sort ran | tr '\n' ' ')" = 'a b ' ]
	run --separate-stderr aq-status --json 3
	assert_json '[0].state' '"pending"'
	run --separate-stderr aq-run -q '*' -q a --drain
	assert_failure 64
	assert_stderr "aq-run: '*' serves every queue: no other with it"
}
