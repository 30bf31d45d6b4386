#!/usr/bin/env bats
# t/claim.bats: aq-claim as doc/cli.md describes it: claiming, claim
# order, waiting, leases, --done, --release, --touch and their errors.

load helper

# ---- usage, help, version ----

@test "aq-claim -h, --help, -V and --version" {
	help_and_version_ok aq-claim
}

@test "aq-claim with an unknown option exits 64 with the usage on stderr" {
	put_ok 1 true
	run --separate-stderr aq-claim -Z
	assert_usage_error aq-claim
	run --separate-stderr aq-claim --no-such-option
	assert_usage_error aq-claim
	# nothing was claimed
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"pending"'
}

@test "aq-claim with an option missing its argument exits 64" {
	put_ok 1 true
	local opt
	for opt in --done --release --touch -q -l -w; do
		run --separate-stderr aq-claim "$opt"
		assert_usage_error aq-claim
	done
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"pending"'
}

# ---- claiming ----

@test "aq-claim prints ID, a tab and the command line, and the job is active" {
	put_ok 1 echo hello
	run --separate-stderr aq-claim
	assert_success
	assert_output --regexp $'^1\t'
	[ "${#lines[@]}" -eq 1 ]
	claimed_argv
	[ "$CLAIM_ID" = 1 ]
	assert_argv echo hello
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"active"'
	assert_json '[0].reason' null
	assert_json '[0].outcome' null
	assert_json '[0].attempt' 1
	assert_json_match '[0].started' "$RFC3339_JSON"
	assert_json '[0].ended' null
}

@test "aq-claim with nothing to claim exits 1 without output" {
	put_ok 1 true
	claim_ok 1
	claim_none
}

@test "aq-claim takes from the default queue only, unless told -q" {
	put_ok 1 -q other echo x
	claim_none
	claim_none -q default
	claim_none -q third
	claim_ok 1 -q other
	claim_none -q other
}

@test "aq-claim -q given several times takes from those queues only, by priority" {
	put_ok 1 -q a -p 0 echo a
	put_ok 2 -q b -p 5 echo b
	put_ok 3 -q c -p 9 echo c
	put_ok 4 -p 9 echo default
	claim_ok 2 -q a -q b
	claim_ok 1 -q a -q b
	claim_none -q a -q b
	claim_ok 3 -q c
	claim_ok 4
}

@test "aq-claim -q with a bad queue name exits 65" {
	put_ok 1 true
	run --separate-stderr aq-claim -q 'a b'
	assert_failure 65
	assert_output ''
	assert_stderr_match '^aq-claim: '
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"pending"'
}

@test "claim order: higher priority, then earlier --at time, then lower id" {
	local n
	n=$(now)
	put_ok 1 -p 0 echo 1
	put_ok 2 -p 10 --at "@$((n - 100))" echo 2
	put_ok 3 -p 10 --at "@$((n - 200))" echo 3
	put_ok 4 -p 10 --at "@$((n - 200))" echo 4
	put_ok 5 -p -5 echo 5
	put_ok 6 -p 10 --at "@$((n - 300))" echo 6
	put_ok 7 -p 1000000 --at "@$n" echo 7
	put_ok 8 -p 0 echo 8
	local id
	for id in 7 6 3 4 2 1 8 5; do
		claim_ok "$id"
	done
	claim_none
}

@test "aq-claim --json prints the whole job with env and cwd" {
	local here
	mkdir sub
	cd sub
	here=$(pwd -P)
	AQ_T_VAR='x y' put_ok 1 -n myjob -p 3 printf '%s\n' 'a b'
	cd ..
	run --separate-stderr aq-claim --json
	assert_success
	assert_json '.id' 1
	assert_json '.queue' '"default"'
	assert_json '.name' '"myjob"'
	assert_json '.argv[0]' '"printf"'
	assert_json '.argv[1]' '"%s\\n"'
	assert_json '.argv[2]' '"a b"'
	assert_json '.state' '"active"'
	assert_json '.attempt' 1
	assert_json '.priority' 3
	assert_json '.env.AQ_T_VAR' '"x y"'
	assert_json '.cwd' "\"$here\""
	assert_json_match '.created' "$RFC3339_JSON"
}

@test "aq-claim --json with nothing to claim exits 1 without output" {
	put_ok 1 -q other true
	claim_none --json
}

# ---- --at, --hold, --deadline ----

@test "a job with --at in the future is not claimable, one in the past is" {
	put_ok 1 --at +1h echo future
	claim_none
	put_ok 2 --at "@$(( $(now) - 60 ))" echo past
	claim_ok 2
	claim_none
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"pending"'
	assert_json '[0].reason' '"scheduled"'
}

@test "a job with --at a second ahead becomes claimable" {
	put_ok 1 --at +1s true
	sleep 2
	claim_ok 1
}

@test "a held job is never claimed" {
	put_ok 1 --hold echo held
	claim_none
	put_ok 2 echo free
	claim_ok 2
	claim_none
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].reason' '"held"'
}

@test "a job whose --deadline passed is skipped and ends expired" {
	put_ok 1 --deadline "@$(( $(now) - 10 ))" echo late
	put_ok 2 echo ontime
	claim_ok 2
	claim_none
	run --separate-stderr aq-status 1
	assert_success
	assert_line --regexp '^[^:]+: (.*[^[:alnum:]])?expired([^[:alnum:]].*)?$'
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"done"'
	assert_json '[0].outcome' '"expired"'
	assert_json '[0].reason' null
	assert_json '[0].exit' null
	assert_json '[0].signal' null
	assert_json '[0].started' null
}

@test "a job alone past its --deadline is not claimed and ends expired" {
	put_ok 1 --deadline 1s true
	sleep 2
	claim_none
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"done"'
	assert_json '[0].outcome' '"expired"'
}

@test "a job with a --deadline ahead is claimed" {
	put_ok 1 --deadline 1h true
	claim_ok 1
}

# ---- waiting ----

@test "aq-claim -w 1 with nothing to claim exits 1 after about a second" {
	put_ok 1 -q other true
	local t0 t1
	t0=$(now_ms)
	run --separate-stderr timeout 20 aq-claim -w 1
	t1=$(now_ms)
	assert_failure 1
	assert_output ''
	assert_between 900 $((t1 - t0)) 15000
}

@test "aq-claim -w returns at once when a job is ready" {
	put_ok 1 true
	local t0 t1
	t0=$(now_ms)
	run --separate-stderr timeout 20 aq-claim -w 15
	t1=$(now_ms)
	assert_success
	assert_output --regexp $'^1\t'
	assert_between 0 $((t1 - t0)) 10000
}

@test "aq-claim -w returns a job put while it waits" {
	put_ok 1 -q other true
	local t0 t1 bg
	(sleep 1; timeout 20 aq-put echo late) >bg.out 2>bg.err &
	bg=$!
	t0=$(now_ms)
	run --separate-stderr timeout 20 aq-claim -w 15
	t1=$(now_ms)
	wait "$bg"
	assert_success
	claimed_argv
	[ "$CLAIM_ID" = 2 ]
	assert_argv echo late
	run cat bg.out
	assert_output 2
	assert_between 0 $((t1 - t0)) 12000
}

@test "aq-claim -w with a bad number of seconds is refused" {
	put_ok 1 true
	run --separate-stderr aq-claim -w abc
	# the contract does not say whether this is usage (64) or input (65)
	[[ "$status" -eq 64 || "$status" -eq 65 ]]
	assert_output ''
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"pending"'
}

# ---- --done ----

@test "aq-claim --done ends the job ok, exit 0" {
	put_ok 1 true
	claim_ok 1
	run --separate-stderr aq-claim --done 1
	assert_success
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"done"'
	assert_json '[0].outcome' '"ok"'
	assert_json '[0].reason' null
	assert_json '[0].exit' 0
	assert_json '[0].signal' null
	assert_json_match '[0].started' "$RFC3339_JSON"
	assert_json_match '[0].ended' "$RFC3339_JSON"
	run --separate-stderr aq-status 1
	assert_success
	assert_line --regexp '^[^:]+: (.*[^[:alnum:]])?ok([^[:alnum:]].*)?$'
	claim_none
}

@test "aq-claim --done -x 0 ends the job ok" {
	put_ok 1 true
	claim_ok 1
	run --separate-stderr aq-claim --done 1 -x 0
	assert_success
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].outcome' '"ok"'
	assert_json '[0].exit' 0
}

@test "aq-claim --done -x STATUS ends the job failed with that exit status" {
	put_ok 1 false
	put_ok 2 false
	claim_ok 1
	claim_ok 2
	run --separate-stderr aq-claim --done 1 -x 3
	assert_success
	run --separate-stderr aq-claim -x 255 --done 2
	assert_success
	run --separate-stderr aq-status --json 1 2
	assert_success
	assert_json '[0].state' '"done"'
	assert_json '[0].outcome' '"failed"'
	assert_json '[0].exit' 3
	assert_json '[0].signal' null
	assert_json '[1].outcome' '"failed"'
	assert_json '[1].exit' 255
}

@test "aq-claim --done -x with a bad status is refused and changes nothing" {
	put_ok 1 true
	claim_ok 1
	local x
	for x in 256 -1 abc ''; do
		run --separate-stderr aq-claim --done 1 -x "$x"
		# the contract does not say whether this is usage (64) or input (65)
		[[ "$status" -eq 64 || "$status" -eq 65 ]]
		assert_output ''
	done
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"active"'
}

@test "aq-claim --done on a job that is not active exits 1" {
	put_ok 1 true
	run --separate-stderr aq-claim --done 1
	assert_failure 1
	assert_output ''
	assert_stderr "aq-claim: job '1' is not active"
	claim_ok 1
	run --separate-stderr aq-claim --done 1
	assert_success
	run --separate-stderr aq-claim --done 1 -x 2
	assert_failure 1
	assert_stderr "aq-claim: job '1' is not active"
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].outcome' '"ok"'
	assert_json '[0].exit' 0
}

@test "aq-claim --done, --release, --touch on a missing job exit 66" {
	put_ok 1 true
	run --separate-stderr aq-claim --done 9
	assert_failure 66
	assert_output ''
	assert_stderr "aq-claim: no such job '9'"
	run --separate-stderr aq-claim --release 9
	assert_failure 66
	assert_stderr "aq-claim: no such job '9'"
	run --separate-stderr aq-claim --touch 9
	assert_failure 66
	assert_stderr "aq-claim: no such job '9'"
}

@test "aq-claim --done, --release, --touch with a bad id exit 65" {
	put_ok 1 true
	claim_ok 1
	local op id
	for op in --done --release --touch; do
		for id in abc 0 -1 1.5 1x ''; do
			run --separate-stderr aq-claim "$op" "$id"
			assert_failure 65
			assert_output ''
			assert_stderr_match '^aq-claim: '
		done
	done
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"active"'
}

# ---- --release ----

@test "aq-claim --release puts the job back; the next claim is attempt 2" {
	put_ok 1 echo again
	run --separate-stderr aq-claim --json
	assert_success
	assert_json '.id' 1
	assert_json '.attempt' 1
	run --separate-stderr aq-claim --release 1
	assert_success
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"pending"'
	assert_json '[0].reason' '"ready"'
	run --separate-stderr aq-claim --json
	assert_success
	assert_json '.id' 1
	assert_json '.attempt' 2
	assert_json '.state' '"active"'
}

@test "aq-claim --release --delay makes the job claimable only later" {
	put_ok 1 true
	claim_ok 1
	run --separate-stderr aq-claim --release 1 --delay 1h
	assert_success
	claim_none
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"pending"'
	assert_json '[0].reason' '"scheduled"'
}

@test "aq-claim --release --delay 1s: claimable again after it" {
	put_ok 1 true
	claim_ok 1
	run --separate-stderr aq-claim --release 1 --delay 1s
	assert_success
	sleep 2
	claim_ok 1
}

@test "aq-claim --release --delay with a bad duration exits 65, job kept" {
	put_ok 1 true
	claim_ok 1
	run --separate-stderr aq-claim --release 1 --delay soon
	assert_failure 65
	assert_output ''
	assert_stderr_match '^aq-claim: '
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"active"'
}

@test "aq-claim --release on a job that is not active exits 1" {
	put_ok 1 true
	run --separate-stderr aq-claim --release 1
	assert_failure 1
	assert_output ''
	assert_stderr "aq-claim: job '1' is not active"
	claim_ok 1
	run --separate-stderr aq-claim --done 1
	assert_success
	run --separate-stderr aq-claim --release 1
	assert_failure 1
	assert_stderr "aq-claim: job '1' is not active"
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"done"'
}

# ---- leases and --touch ----

@test "a claim holds the job: a second claim finds nothing" {
	put_ok 1 true
	claim_ok 1
	claim_none
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"active"'
}

@test "a lease that runs out gives the job to the next claim, attempt 2" {
	put_ok 1 echo leased
	claim_ok 1 -l 1s
	sleep 2
	run --separate-stderr timeout 20 aq-claim --json
	assert_success
	assert_json '.id' 1
	assert_json '.attempt' 2
	assert_json '.state' '"active"'
}

@test "a job whose lease ran out is first in line" {
	local n
	n=$(now)
	put_ok 1 --at "@$((n - 5))" echo first
	claim_ok 1 -l 1s
	# job 2 would come before job 1 by its earlier --at time
	put_ok 2 --at "@$((n - 1000))" echo second
	sleep 2
	claim_ok 1
	claim_ok 2
}

@test "a job whose lease ran out can be held, changed and released" {
	put_ok 1 echo first
	put_ok 2 echo second
	claim_ok 1 -l 1s
	sleep 2
	# a claim elsewhere puts it back, first in line
	run --separate-stderr aq-claim -q other
	assert_failure 1
	run --separate-stderr aq-job --hold 1
	assert_success
	# held: its old place in line is gone, not claimable
	claim_ok 2
	claim_none
	run --separate-stderr aq-job --release -p 5 1
	assert_success
	claim_ok 1
}

@test "after 9 interruptions a job ends lost" {
	put_ok 1 true
	local nth
	for nth in 1 2 3 4 5 6 7 8 9 10; do
		run --separate-stderr timeout 20 aq-claim --json -l 250ms
		assert_success
		assert_json '.id' 1
		assert_json '.attempt' "$nth"
		sleep 0.5
	done
	claim_none
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"done"'
	assert_json '[0].outcome' '"lost"'
}

@test "an --at-most-once job whose lease ran out ends lost" {
	put_ok 1 --at-most-once echo once
	claim_ok 1 -l 1s
	sleep 2
	claim_none
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"done"'
	assert_json '[0].outcome' '"lost"'
	assert_json '[0].exit' null
	run --separate-stderr aq-status 1
	assert_success
	assert_line --regexp '^[^:]+: (.*[^[:alnum:]])?lost([^[:alnum:]].*)?$'
}

@test "aq-claim --touch extends the lease" {
	put_ok 1 true
	claim_ok 1 -l 1s
	run --separate-stderr aq-claim --touch 1 -l 1h
	assert_success
	sleep 2
	claim_none
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"active"'
	assert_json '[0].attempt' 1
	run --separate-stderr aq-claim --done 1
	assert_success
}

@test "aq-claim --touch on a job that is not active exits 1" {
	put_ok 1 true
	run --separate-stderr aq-claim --touch 1
	assert_failure 1
	assert_output ''
	assert_stderr "aq-claim: job '1' is not active"
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"pending"'
}

@test "aq-claim --touch -l with a bad duration exits 65" {
	put_ok 1 true
	claim_ok 1
	run --separate-stderr aq-claim --touch 1 -l forever
	assert_failure 65
	assert_output ''
	assert_stderr_match '^aq-claim: '
}

@test "aq-claim -l with a bad duration exits 65 and claims nothing" {
	put_ok 1 true
	local l
	for l in x 5x -5s ''; do
		run --separate-stderr aq-claim -l "$l"
		assert_failure 65
		assert_output ''
		assert_stderr_match '^aq-claim: '
	done
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"pending"'
}
