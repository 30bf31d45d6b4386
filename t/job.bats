#!/usr/bin/env bats
# t/job.bats: aq-job, which changes pending jobs: hold and release, the
# priority, the quotas; all the jobs named or none.

load helper

# job_state ID STATE [REASON]: as aq-status --json says.
job_state() {
	run --separate-stderr aq-status --json "$1"
	assert_success
	assert_json '[0].state' "\"$2\""
	[ -z "${3:-}" ] || assert_json '[0].reason' "\"$3\""
}

claim_id() {
	local out
	out=$(timeout 20 aq-claim -l 1h "$@" 2>/dev/null) || { echo none; return 0; }
	echo "${out%%	*}"
}

@test "aq-job -h, --help, -V and --version" {
	help_and_version_ok aq-job
}

@test "aq-job with a bad option, no change, no id, or --hold with --release exits 64" {
	put_ok 1 true
	for args in "-Z 1" "1" "--hold" "--hold --release 1" "-Q a --no-quotas 1"; do
		# shellcheck disable=SC2086
		run --separate-stderr aq-job $args
		assert_usage_error aq-job
	done
	job_state 1 pending ready
}

@test "aq-job refuses a bad id, priority or quota name (65)" {
	put_ok 1 true
	run --separate-stderr aq-job --hold x
	assert_failure 65
	assert_stderr "aq-job: bad job id 'x'"
	run --separate-stderr aq-job -p 2000000 1
	assert_failure 65
	assert_stderr "aq-job: bad priority '2000000'"
	run --separate-stderr aq-job -Q 'a/b' 1
	assert_failure 65
	assert_stderr "aq-job: bad quota name 'a/b'"
	job_state 1 pending ready
}

@test "--hold keeps a job from being claimed; --release lets it go" {
	put_ok 1 true
	put_ok 2 true
	run --separate-stderr aq-job --hold 1
	assert_success
	assert_output ''
	job_state 1 pending held
	[ "$(claim_id)" = 2 ]
	[ "$(claim_id)" = none ]
	run aq-job --release 1
	assert_success
	job_state 1 pending ready
	[ "$(claim_id)" = 1 ]
}

@test "a job put with --hold is released by aq-job; its schedule still holds" {
	put_ok 1 --hold true
	put_ok 2 --hold --at +1h true
	run aq-job --release 1 2
	assert_success
	job_state 1 pending ready
	job_state 2 pending scheduled
	[ "$(claim_id)" = 1 ]
	[ "$(claim_id)" = none ]
}

@test "-p changes the priority, and so the claim order" {
	put_ok 1 true
	put_ok 2 true
	put_ok 3 true
	run aq-job -p 5 3
	assert_success
	run --separate-stderr aq-status --json 3
	assert_json '[0].priority' 5
	[ "$(claim_id)" = 3 ]
	[ "$(claim_id)" = 1 ]
}

@test "-Q sets the quotas of a pending job, to existing ones only" {
	run aq-quota add db 0
	put_ok 1 true
	run --separate-stderr aq-job -Q nope 1
	assert_failure 65
	assert_stderr "aq-job: unknown quota 'nope'"
	run --separate-stderr aq-status --json 1
	assert_json '[0].quotas' '[]'
	run aq-job -Q db 1
	assert_success
	job_state 1 pending quota
	[ "$(claim_id)" = none ]
	run aq-job --no-quotas 1
	assert_success
	run --separate-stderr aq-status --json 1
	assert_json '[0].quotas' '[]'
	[ "$(claim_id)" = 1 ]
}

@test "a job that is not pending, or a missing one, changes nothing of the others" {
	put_ok 1 true
	put_ok 2 true
	[ "$(claim_id)" = 1 ]
	run --separate-stderr aq-job --hold 2 1
	assert_failure 1
	assert_stderr "aq-job: job '1' is not pending"
	job_state 2 pending ready
	run --separate-stderr aq-job --hold 2 9
	assert_failure 66
	assert_stderr "aq-job: no such job '9'"
	job_state 2 pending ready
	run aq-job --hold 2 2
	assert_success
	job_state 2 pending held
}

@test "aq-job without an environment exits 69 and makes none" {
	run --separate-stderr aq-job --hold 1
	assert_failure 69
	[ ! -e "$AQ_HOME" ]
}
