#!/usr/bin/env bats
# t/status.bats: aq-status as doc/cli.md describes it: the overview, jobs
# by id, the -l listing with its filters, --json shapes, a missing job and
# a missing environment.

load helper

# The same jobs for several tests:
#   1 default  0 true            done/ok
#   2 default  0 false           done/failed (exit 4)
#   3 default  0 -c 'echo two'   active
#   4 other   -5 -n named echo three       pending/ready
#   5 default  2 --at +1h echo four        pending/scheduled
#   6 other    0 --hold echo five          pending/held
#   7 default  1 echo seven                pending/ready
make_jobs() {
	put_ok 1 true
	claim_ok 1
	run --separate-stderr aq-claim --done 1
	assert_success
	put_ok 2 false
	claim_ok 2
	run --separate-stderr aq-claim --done 2 -x 4
	assert_success
	put_ok 3 -c 'echo two'
	claim_ok 3
	put_ok 4 -q other -p -5 -n named echo three
	put_ok 5 -p 2 --at +1h echo four
	put_ok 6 -q other --hold echo five
	put_ok 7 -p 1 echo seven
}

# assert_list_line LINE ID STATE QUEUE PRIO NAME ARGV...: LINE of `aq-status
# -l` is `ID STATE QUEUE PRIO NAME COMMAND` and COMMAND reads back as ARGV.
assert_list_line() {
	local line=$1 id=$2 state=$3 queue=$4 prio=$5 name=$6
	shift 6
	local re="^$id[[:space:]]+$state[[:space:]]+$queue[[:space:]]+$prio[[:space:]]+$name[[:space:]]+(.*)\$"
	if ! [[ "$line" =~ $re ]]; then
		batslib_print_kv_single_or_multi 8 regexp "$re" line "$line" |
		    batslib_decorate 'list line does not match' | fail
		return 1
	fi
	eval "CLAIM_ARGV=(${BASH_REMATCH[1]})"
	assert_argv "$@"
}

# ---- usage, help, version ----

@test "aq-status -h, --help, -V and --version" {
	help_and_version_ok aq-status
}

@test "aq-status with an unknown option exits 64 with the usage on stderr" {
	put_ok 1 true
	run --separate-stderr aq-status -Z
	assert_usage_error aq-status
	run --separate-stderr aq-status --no-such-option
	assert_usage_error aq-status
}

@test "aq-status -l with an option missing its argument exits 64" {
	put_ok 1 true
	run --separate-stderr aq-status -l -q
	assert_usage_error aq-status
	run --separate-stderr aq-status -l -s
	assert_usage_error aq-status
}

@test "aq-status -l -s with an unknown state exits 64" {
	put_ok 1 true
	local s
	for s in bogus none PENDING Ready ''; do
		run --separate-stderr aq-status -l -s "$s"
		assert_failure 64
		assert_output ''
		assert_stderr_match "^aq-status: unknown state '$s'"$'\n'"usage: aq-status "
	done
}

# ---- a missing environment ----

@test "aq-status on a missing environment exits 69 and creates nothing" {
	local dir="$BATS_TEST_TMPDIR/none"
	run --separate-stderr aq-status -d "$dir"
	assert_failure 69
	assert_output ''
	assert_stderr "aq-status: no environment at '$dir'"
	[ ! -e "$dir" ]
	run --separate-stderr aq-status
	assert_failure 69
	assert_output ''
	assert_stderr "aq-status: no environment at '$AQ_HOME'"
	[ ! -e "$AQ_HOME" ]
}

@test "aq-status --json, ID and -l on a missing environment exit 69" {
	run --separate-stderr aq-status --json
	assert_failure 69
	assert_output ''
	assert_stderr "aq-status: no environment at '$AQ_HOME'"
	run --separate-stderr aq-status 1
	assert_failure 69
	assert_output ''
	assert_stderr "aq-status: no environment at '$AQ_HOME'"
	run --separate-stderr aq-status -l
	assert_failure 69
	assert_output ''
	assert_stderr "aq-status: no environment at '$AQ_HOME'"
	[ ! -e "$AQ_HOME" ]
}

# ---- the overview ----

@test "aq-status prints one line of counts per queue" {
	make_jobs
	run --separate-stderr aq-status
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	assert_line --regexp '^default pending 2 \(ready 1 scheduled 1 blocked 0 held 0 quota 0\) active 1 done 2 \(ok 1 failed 1( [a-z]+ 0)*\)$'
	assert_line --regexp '^other pending 2 \(ready 1 scheduled 0 blocked 0 held 1 quota 0\) active 0 done 0 \(ok 0 failed 0( [a-z]+ 0)*\)$'
}

@test "aq-status counts expired and lost jobs among the done" {
	put_ok 1 -q late --deadline "@$(( $(now) - 10 ))" true
	claim_none -q late
	run --separate-stderr aq-status
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	assert_line --regexp '^late pending 0 \(ready 0 scheduled 0 blocked 0 held 0 quota 0\) active 0 done 1 \(ok 0 failed 0( [a-z]+ [0-9]+)*\)$'
	assert_line --regexp '^late .*\(.* expired 1[ )]'
	run --separate-stderr aq-status --json
	assert_success
	assert_json '.queues.late.done' 1
	assert_json '.queues.late.expired' 1
	assert_json '.queues.late.lost' 0
}

@test "aq-status --json prints the counts of every queue, workers and quotas" {
	make_jobs
	run --separate-stderr aq-status --json
	assert_success
	local f
	for f in pending ready scheduled blocked held quota active done ok \
	    failed timeout expired cancelled lost skipped; do
		json_has ".queues.default.$f"
		json_has ".queues.other.$f"
	done
	assert_json '.queues.default.pending' 2
	assert_json '.queues.default.ready' 1
	assert_json '.queues.default.scheduled' 1
	assert_json '.queues.default.blocked' 0
	assert_json '.queues.default.held' 0
	assert_json '.queues.default.quota' 0
	assert_json '.queues.default.active' 1
	assert_json '.queues.default.done' 2
	assert_json '.queues.default.ok' 1
	assert_json '.queues.default.failed' 1
	assert_json '.queues.default.timeout' 0
	assert_json '.queues.default.expired' 0
	assert_json '.queues.default.cancelled' 0
	assert_json '.queues.default.lost' 0
	assert_json '.queues.default.skipped' 0
	assert_json '.queues.other.pending' 2
	assert_json '.queues.other.ready' 1
	assert_json '.queues.other.scheduled' 0
	assert_json '.queues.other.held' 1
	assert_json '.queues.other.active' 0
	assert_json '.queues.other.done' 0
	assert_json '.workers' '[]'
	assert_json '.quotas' '[]'
	refute_json '.queues.late'
}

# ---- jobs by id ----

@test "aq-status ID prints key: value lines, a blank line between jobs" {
	make_jobs
	run --separate-stderr aq-status 4 1
	assert_success
	[ -z "$stderr" ]
	# exactly one blank line: between the two jobs
	[ "$(grep -c '^$' <<<"$output")" -eq 1 ]
	local first second
	first=$(sed '/^$/,$d' <<<"$output")
	second=$(sed '1,/^$/d' <<<"$output")
	[ -n "$first" ]
	[ -n "$second" ]
	# one key: value per line
	run grep -v -E '^[[:space:]]*[^[:space:]:][^:]*:( .*)?$' <<<"$first"$'\n'"$second"
	assert_failure 1
	assert_output ''
	# job 4 first, as asked: its queue and name are among its values
	run grep -E ':[[:space:]]+other$' <<<"$first"
	assert_success
	run grep -E ':[[:space:]]+named$' <<<"$first"
	assert_success
	run grep -E ':[[:space:]]+other$' <<<"$second"
	assert_failure 1
	run grep -E ':[[:space:]]+default$' <<<"$second"
	assert_success
}

@test "aq-status --json ID prints an array of job objects with every field" {
	make_jobs
	run --separate-stderr aq-status --json 4
	assert_success
	[ "$(json_len '')" -eq 1 ]
	local f
	for f in id queue name argv state reason outcome exit signal attempt \
	    priority quotas worker created started ended cwd begin deadline; do
		json_has "[0].$f"
	done
	assert_json '[0].id' 4
	assert_json '[0].queue' '"other"'
	assert_json '[0].name' '"named"'
	assert_json '[0].argv[0]' '"echo"'
	assert_json '[0].argv[1]' '"three"'
	assert_json '[0].state' '"pending"'
	assert_json '[0].reason' '"ready"'
	assert_json '[0].outcome' null
	assert_json '[0].exit' null
	assert_json '[0].signal' null
	assert_json '[0].attempt' 0
	assert_json '[0].priority' -5
	assert_json '[0].quotas' '[]'
	assert_json '[0].worker' null
	assert_json_match '[0].created' "$RFC3339_JSON"
	assert_json '[0].started' null
	assert_json '[0].ended' null
	assert_json '[0].cwd' "\"$(pwd -P)\""
	assert_json '[0].deadline' null
}

@test "aq-status --json ID shows a -c job as /bin/sh -c TEXT" {
	make_jobs
	run --separate-stderr aq-status --json 3
	assert_success
	assert_json '[0].argv[0]' '"/bin/sh"'
	assert_json '[0].argv[1]' '"-c"'
	assert_json '[0].argv[2]' '"echo two"'
	[ "$(json_len '[0].argv')" -eq 3 ]
	assert_json '[0].state' '"active"'
	assert_json '[0].reason' null
	assert_json '[0].attempt' 1
}

@test "aq-status --json ID prints the jobs in the order asked" {
	make_jobs
	run --separate-stderr aq-status --json 5 2 6
	assert_success
	[ "$(json_len '')" -eq 3 ]
	assert_json '[0].id' 5
	assert_json '[0].reason' '"scheduled"'
	assert_json_match '[0].begin' "$RFC3339_JSON"
	assert_json '[1].id' 2
	assert_json '[1].state' '"done"'
	assert_json '[1].outcome' '"failed"'
	assert_json '[1].exit' 4
	assert_json '[1].reason' null
	assert_json '[2].id' 6
	assert_json '[2].reason' '"held"'
}

@test "aq-status with one missing id exits 66 and prints the others" {
	make_jobs
	run --separate-stderr aq-status 4 99 6
	assert_failure 66
	assert_stderr "aq-status: no such job '99'"
	[ "$(grep -c '^$' <<<"$output")" -eq 1 ]
	assert_line --regexp ':[[:space:]]+named$'
	assert_line --regexp ':.*[^[:alnum:]]five$'
}

@test "aq-status --json with one missing id exits 66 and prints the others" {
	make_jobs
	run --separate-stderr aq-status --json 1 99 2
	assert_failure 66
	assert_stderr "aq-status: no such job '99'"
	[ "$(json_len '')" -eq 2 ]
	assert_json '[0].id' 1
	assert_json '[1].id' 2
}

@test "aq-status with only a missing id exits 66" {
	put_ok 1 true
	run --separate-stderr aq-status 5
	assert_failure 66
	assert_output ''
	assert_stderr "aq-status: no such job '5'"
}

# ---- the listing ----

@test "aq-status -l prints one line per job: ID STATE QUEUE PRIO NAME COMMAND" {
	make_jobs
	run --separate-stderr aq-status -l
	assert_success
	[ "${#lines[@]}" -eq 7 ]
	assert_list_line "${lines[0]}" 1 done/ok default 0 true true
	assert_list_line "${lines[1]}" 2 done/failed default 0 false false
	assert_list_line "${lines[2]}" 3 active default 0 sh /bin/sh -c 'echo two'
	assert_list_line "${lines[3]}" 4 pending/ready other -5 named echo three
	assert_list_line "${lines[4]}" 5 pending/scheduled default 2 echo echo four
	assert_list_line "${lines[5]}" 6 pending/held other 0 echo echo five
	assert_list_line "${lines[6]}" 7 pending/ready default 1 echo echo seven
}

@test "aq-status -l -q lists one queue only" {
	make_jobs
	run --separate-stderr aq-status -l -q other
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	assert_list_line "${lines[0]}" 4 pending/ready other -5 named echo three
	assert_list_line "${lines[1]}" 6 pending/held other 0 echo echo five
}

@test "aq-status -l -s lists the jobs in one state" {
	make_jobs
	run --separate-stderr aq-status -l -s pending
	assert_success
	[ "${#lines[@]}" -eq 4 ]
	assert_line --index 0 --regexp '^4[[:space:]]'
	assert_line --index 1 --regexp '^5[[:space:]]'
	assert_line --index 2 --regexp '^6[[:space:]]'
	assert_line --index 3 --regexp '^7[[:space:]]'
	run --separate-stderr aq-status -l -s active
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	assert_list_line "${lines[0]}" 3 active default 0 sh /bin/sh -c 'echo two'
	run --separate-stderr aq-status -l -s done
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --regexp '^1[[:space:]]+done/ok[[:space:]]'
	assert_line --index 1 --regexp '^2[[:space:]]+done/failed[[:space:]]'
}

@test "aq-status -l -s takes a reason a pending job waits for, or an outcome" {
	make_jobs
	run --separate-stderr aq-status -l -s ready
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --regexp '^4[[:space:]]+pending/ready'
	assert_line --index 1 --regexp '^7[[:space:]]+pending/ready'
	run --separate-stderr aq-status -l -s scheduled
	[ "${#lines[@]}" -eq 1 ]
	assert_line --index 0 --regexp '^5[[:space:]]+pending/scheduled'
	run --separate-stderr aq-status -l -s held
	[ "${#lines[@]}" -eq 1 ]
	assert_line --index 0 --regexp '^6[[:space:]]+pending/held'
	run --separate-stderr aq-status -l -s failed
	[ "${#lines[@]}" -eq 1 ]
	assert_line --index 0 --regexp '^2[[:space:]]+done/failed'
	run --separate-stderr aq-status --json -l -s ok
	assert_success
	[ "$(json_len '')" -eq 1 ]
	assert_json '[0].id' 1
	run --separate-stderr aq-status -l -s blocked
	assert_success
	assert_output ''
}

@test "aq-status -l -q -s combine" {
	make_jobs
	run --separate-stderr aq-status -l -q default -s pending
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --regexp '^5[[:space:]]+pending/scheduled[[:space:]]'
	assert_line --index 1 --regexp '^7[[:space:]]+pending/ready[[:space:]]'
	run --separate-stderr aq-status -l -s active -q other
	assert_success
	assert_output ''
}

@test "aq-status -l shows expired and lost outcomes" {
	put_ok 1 --deadline "@$(( $(now) - 10 ))" true
	put_ok 2 --at-most-once true
	claim_ok 2 -l 1s
	sleep 2
	claim_none
	run --separate-stderr aq-status -l
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	assert_list_line "${lines[0]}" 1 done/expired default 0 true true
	assert_list_line "${lines[1]}" 2 done/lost default 0 true true
}

@test "aq-status --json -l prints an array of job objects" {
	make_jobs
	run --separate-stderr aq-status --json -l
	assert_success
	[ "$(json_len '')" -eq 7 ]
	local nth
	for nth in 0 1 2 3 4 5 6; do
		assert_json "[$nth].id" $((nth + 1))
	done
	assert_json '[0].state' '"done"'
	assert_json '[0].outcome' '"ok"'
	assert_json '[0].exit' 0
	assert_json '[1].outcome' '"failed"'
	assert_json '[1].exit' 4
	assert_json '[2].state' '"active"'
	assert_json '[2].argv[2]' '"echo two"'
	assert_json '[3].queue' '"other"'
	assert_json '[3].name' '"named"'
	assert_json '[3].priority' -5
	assert_json '[4].reason' '"scheduled"'
	assert_json '[5].reason' '"held"'
	assert_json '[6].reason' '"ready"'
}

@test "aq-status --json -l -q -s filter the array" {
	make_jobs
	run --separate-stderr aq-status --json -l -q other -s pending
	assert_success
	[ "$(json_len '')" -eq 2 ]
	assert_json '[0].id' 4
	assert_json '[1].id' 6
	run --separate-stderr aq-status --json -l -s done
	assert_success
	[ "$(json_len '')" -eq 2 ]
	assert_json '[0].id' 1
	assert_json '[1].id' 2
	run --separate-stderr aq-status --json -l -q nosuch
	assert_success
	[ "$(json_len '')" -eq 0 ]
}

@test "aq-status into a full disk (/dev/full) exits 75 and says so" {
	aq-put true >/dev/null
	run --separate-stderr aq-status -l
	assert_success
	run --separate-stderr bash -c 'aq-status -l >/dev/full'
	assert_failure 75
	assert_stderr_match '^aq-status: cannot write'
	run --separate-stderr bash -c 'aq-status >/dev/full'
	assert_failure 75
}
