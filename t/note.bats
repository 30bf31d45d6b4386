#!/usr/bin/env bats
# t/note.bats: aq-note, zc.async's live annotations.  A note is set,
# printed, listed and removed from outside a job or from inside one (the
# id defaults to $AQ_JOB_ID), each set visible at once to every other
# process; -w waits for a key.  Bad input first: each changes nothing.

load helper
load worker

@test "aq-note -h, --help, -V and --version" {
	help_and_version_ok aq-note
}

@test "aq-note without an environment exits 69 and makes none" {
	run --separate-stderr aq-note 1 k=v
	assert_failure 69
	assert_stderr_match "^aq-note: "
	[ ! -e "$AQ_HOME" ]
}

@test "aq-note with a bad option or usage exits 64; outside a job without an id too" {
	unset AQ_JOB_ID
	run --separate-stderr aq-note -Z
	assert_usage_error aq-note
	run --separate-stderr aq-note 1 a b c
	assert_usage_error aq-note
	run --separate-stderr aq-note -w 1 1 a=b
	assert_usage_error aq-note
	run --separate-stderr aq-note -r 1
	assert_usage_error aq-note
	run --separate-stderr aq-note --json 1 a
	assert_usage_error aq-note
	run --separate-stderr aq-note progress
	assert_failure 64
	assert_stderr "aq-note: no job id given, and AQ_JOB_ID is not set"
}

@test "aq-note refuses a bad key (65), a missing job (66), and a missing note is 1" {
	put_ok 1 true
	for key in 'a b' 'a/b' '' '123'; do
		run --separate-stderr aq-note 1 "$key=v"
		assert_failure 65
		assert_stderr "aq-note: bad note key '$key'"
	done
	run --separate-stderr aq-note 1
	assert_output ''	# nothing was set
	run --separate-stderr aq-note 7 k=v
	assert_failure 66
	assert_stderr "aq-note: no such job '7'"
	run --separate-stderr aq-note 1 k
	assert_failure 1
	assert_output ''
	assert_stderr "aq-note: job '1' has no note 'k'"
	run --separate-stderr aq-note 1
	assert_success
	assert_output ''
	run --separate-stderr aq-note -w 1 1 k
	assert_failure 1
	assert_stderr "aq-note: job '1' has no note 'k'"
	run --separate-stderr aq-note -r 1 k
	assert_failure 1
	assert_stderr "aq-note: job '1' has no note 'k'"
}

@test "aq-note refuses a bad id (65), in AQ_JOB_ID too, a bad wait (65) and a value too long (65)" {
	put_ok 1 true
	local id
	# An operand of digits is an id: one out of range is bad.
	for id in 0 00 99999999999999999999; do
		run --separate-stderr aq-note "$id" k=v
		assert_failure 65
		assert_stderr "aq-note: bad job id '$id'"
	done
	AQ_JOB_ID=x run --separate-stderr aq-note k=v
	assert_failure 65
	assert_stderr "aq-note: bad job id 'x' in AQ_JOB_ID"
	run --separate-stderr aq-note -w x 1 k
	assert_failure 65
	assert_stderr "aq-note: bad duration 'x'"
	run --separate-stderr aq-note 1 "k=$(head -c 65537 /dev/zero | tr '\0' a)"
	assert_failure 65
	assert_stderr "aq-note: note 'k' is longer than 65536 bytes"
	# A value of the longest length is good.
	run --separate-stderr aq-note 1 "big=$(head -c 65536 /dev/zero | tr '\0' a)"
	assert_success
	run --separate-stderr aq-note 1
	assert_output "big=$(head -c 65536 /dev/zero | tr '\0' a)"
}

@test "aq-note with operands that do not fit its options exits 64 and sets nothing" {
	put_ok 1 true
	run --separate-stderr aq-note a b
	assert_usage_error aq-note
	run --separate-stderr aq-note -w 5 1
	assert_usage_error aq-note
	run --separate-stderr aq-note -r 1 k=v
	assert_usage_error aq-note
	run --separate-stderr aq-note -r -w 5 1 k
	assert_usage_error aq-note
	run --separate-stderr aq-note 1
	assert_success
	assert_output ''
}

@test "aq-note sets, prints, lists (text and JSON) and removes notes" {
	put_ok 1 true
	run aq-note 1 progress=10%
	assert_success
	run aq-note 1 'msg=a b = c'
	assert_success
	run --separate-stderr aq-note 1 msg
	assert_output 'a b = c'
	run --separate-stderr aq-note 1
	assert_output "$(printf 'msg=a b = c\nprogress=10%%')"
	run --separate-stderr aq-note --json 1
	assert_json '.msg' '"a b = c"'
	assert_json '.progress' '"10%"'
	run aq-note 1 progress=20%
	run --separate-stderr aq-note 1 progress
	assert_output '20%'
	run aq-note -r 1 progress
	assert_success
	run --separate-stderr aq-note 1
	assert_output 'msg=a b = c'
	run --separate-stderr aq-status 1
	assert_line 'note:      msg=a b = c'
	run --separate-stderr aq-status --json 1
	assert_json '[0].notes.msg' '"a b = c"'
}

@test "notes set from inside a job are answered from outside: the job waits for the answer" {
	put_ok 1 -c 'aq-note progress=asking; a=$(aq-note -w 30 answer) || exit 9; echo "$a" >got; aq-note progress=done'
	start_worker
	wait_for 30 eval '[ "$(aq-note 1 progress 2>/dev/null)" = asking ]'
	run aq-note 1 answer=42
	assert_success
	wait_for 30 job_done 1
	outcomes_are 1=ok
	[ "$(cat got)" = 42 ]
	run --separate-stderr aq-note 1 progress
	assert_output done
}

@test "aq-note -w gives up with 1 after the time given" {
	put_ok 1 true
	local t0
	t0=$(now_ms)
	run --separate-stderr aq-note -w 1 1 never
	assert_failure 1
	[ $(( $(now_ms) - t0 )) -ge 900 ]
}
