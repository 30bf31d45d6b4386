#!/usr/bin/env bats
# t/quota.bats: aq-quota and the quota rules of zc.async, each through the
# programs: unknown quotas refused, default size 1, add and rm, removal
# with pending jobs, resizing, shrinking spares running jobs, a full quota
# passes over the jobs it holds back, two quotas need room in both, the
# limit holds with four workers at once, a dead worker's slot comes back.

load helper

# claim_id [ARGS...]: the id aq-claim -l 1h ARGS claims, or "none".
claim_id() {
	local out
	out=$(timeout 20 aq-claim -l 1h "$@" 2>/dev/null) || { echo none; return 0; }
	echo "${out%%	*}"
}

quota_is() {	# NAME FIELD VALUE: in aq-quota --json
	run --separate-stderr aq-quota --json
	assert_success
	local n k
	n=$(json_len '.quotas')
	for ((k = 0; k < n; k++)); do
		if [ "$(json_get ".quotas[$k].name")" = "\"$1\"" ]; then
			assert_json ".quotas[$k].$2" "$3"
			return
		fi
	done
	fail "no quota $1"
}

# ---- usage and bad input ----

@test "aq-quota -h, --help, -V and --version" {
	help_and_version_ok aq-quota
}

@test "aq-quota with a bad option, verb or count of operands exits 64 with the usage" {
	for args in "-Z" "frob x" "add" "add a 1 2" "set a" "rm" "rm a b" \
	    "show" "--json add a" "--json rm a"; do
		# shellcheck disable=SC2086
		run --separate-stderr aq-quota $args
		assert_usage_error aq-quota
	done
	assert_no_jobs
}

@test "aq-quota refuses a bad name or size (65) and changes nothing" {
	put_ok 1 true
	run --separate-stderr aq-quota add 'a/b'
	assert_failure 65
	assert_stderr "aq-quota: bad quota name 'a/b'"
	run --separate-stderr aq-quota add db -1
	assert_failure 65
	assert_stderr "aq-quota: bad quota size '-1'"
	run --separate-stderr aq-quota add db 2000000000
	assert_failure 65
	run --separate-stderr aq-quota add db x
	assert_failure 65
	run --separate-stderr aq-quota --json
	assert_success
	assert_output '{"quotas":[]}'
}

@test "set, rm and show of a missing quota exit 66 and change nothing" {
	run --separate-stderr aq-quota add db
	assert_success
	for verb in "set nope 2" "rm nope" "show nope"; do
		# shellcheck disable=SC2086
		run --separate-stderr aq-quota $verb
		assert_failure 66
		assert_stderr "aq-quota: no such quota 'nope'"
	done
	run --separate-stderr aq-quota
	assert_success
	assert_line --index 1 --regexp '^db +1 +0 +0$'
	[ "${#lines[@]}" -eq 2 ]
}

@test "a quota that exists cannot be added again (65)" {
	run --separate-stderr aq-quota add db 3
	assert_success
	run --separate-stderr aq-quota add db
	assert_failure 65
	assert_stderr "aq-quota: quota 'db' exists"
	quota_is db size 3
}

@test "aq-put -Q with an unknown quota exits 65 and puts nothing, nor a batch" {
	run --separate-stderr aq-quota add db
	run --separate-stderr aq-put -Q nope true
	assert_failure 65
	assert_stderr "aq-put: unknown quota 'nope'"
	assert_no_jobs
	printf 'echo a\necho b\n' >batch
	run --separate-stderr aq-put -Q db -Q nope -b <batch
	assert_failure 65
	assert_output ''
	assert_no_jobs
	# No id was used up by the refused puts.
	put_ok 1 -Q db true
}

@test "aq-put -Q with a bad name exits 65; more than 16 quotas too" {
	run --separate-stderr aq-put -Q 'a/b' true
	assert_failure 65
	assert_stderr "aq-put: bad quota name 'a/b'"
	local args=() n
	for n in $(seq 17); do args+=(-Q "q$n"); done
	run --separate-stderr aq-put "${args[@]}" true
	assert_failure 65
	assert_stderr 'aq-put: more than 16 quotas'
	assert_no_jobs
}

# ---- the rules ----

@test "a quota is 1 by default: one job at a time, the others wait" {
	run --separate-stderr aq-quota add db
	assert_success
	put_ok 1 -Q db true
	put_ok 2 -Q db true
	[ "$(claim_id)" = 1 ]
	[ "$(claim_id)" = none ]
	run --separate-stderr aq-status --json 2
	assert_json '[0].reason' '"quota"'
	assert_json '[0].quotas[0]' '"db"'
	quota_is db used 1
	quota_is db waiting 1
	run --separate-stderr aq-quota show db
	assert_success
	assert_output "$(printf 'quota db: size 1, used 1, waiting 1\nheld by: 1\nwaiting: 2')"
	run aq-claim --done 1
	assert_success
	[ "$(claim_id)" = 2 ]
}

@test "a full quota passes its jobs over: the jobs behind them run" {
	run --separate-stderr aq-quota add db
	put_ok 1 -Q db true
	put_ok 2 -Q db -p 5 true
	put_ok 3 -Q db -p 5 true
	put_ok 4 true
	[ "$(claim_id)" = 2 ]
	[ "$(claim_id)" = 4 ]
	[ "$(claim_id)" = none ]
	run --separate-stderr aq-status
	assert_line --regexp '^default pending 2 \(ready 0 scheduled 0 blocked 0 held 0 quota 2\) active 2 '
	assert_line 'quota db size 1 used 1 waiting 2'
	# The slot comes back: the next in claim order goes first.
	run aq-claim --done 2
	assert_success
	[ "$(claim_id)" = 3 ]
}

@test "a job naming two quotas needs room in both" {
	run aq-quota add a
	run aq-quota add b 2
	put_ok 1 -Q a true
	put_ok 2 -Q b true
	put_ok 3 -Q a -Q b true
	[ "$(claim_id)" = 1 ]
	[ "$(claim_id)" = 2 ]
	[ "$(claim_id)" = none ]	# b has room, a does not
	run aq-claim --done 1
	[ "$(claim_id)" = 3 ]
	quota_is a used 1
	quota_is b used 2
}

@test "growing a quota lets as many waiting jobs run; shrinking spares the running ones" {
	run aq-quota add db
	for n in 1 2 3 4; do put_ok "$n" -Q db true; done
	[ "$(claim_id)" = 1 ]
	run --separate-stderr aq-quota set db 3
	assert_success
	[ "$(claim_id)" = 2 ]
	[ "$(claim_id)" = 3 ]
	[ "$(claim_id)" = none ]
	run --separate-stderr aq-quota set db 1
	assert_success
	quota_is db used 3	# nothing running was stopped
	run --separate-stderr aq-status --json 1 2 3
	assert_json '[0].state' '"active"'
	assert_json '[2].state' '"active"'
	# Ending two still leaves it full: one is running, the size is 1.
	run aq-claim --done 1
	run aq-claim --done 2
	[ "$(claim_id)" = none ]
	run aq-claim --done 3
	[ "$(claim_id)" = 4 ]
}

@test "a quota of size 0 holds every job that names it" {
	run aq-quota add paused 0
	put_ok 1 -Q paused true
	put_ok 2 true
	[ "$(claim_id)" = 2 ]
	[ "$(claim_id)" = none ]
	run aq-quota set paused 1
	[ "$(claim_id)" = 1 ]
}

@test "removing a quota that pending jobs name: they ignore it from then on" {
	run aq-quota add db
	put_ok 1 -Q db true
	put_ok 2 -Q db true
	put_ok 3 -Q db true
	[ "$(claim_id)" = 1 ]
	run --separate-stderr aq-quota rm db
	assert_success
	[ "$(claim_id)" = 2 ]
	[ "$(claim_id)" = 3 ]
	run --separate-stderr aq-quota --json
	assert_output '{"quotas":[]}'
	# The job that held it ends normally; the quota may be made again.
	run aq-claim --done 1
	assert_success
	run aq-quota add db
	assert_success
	quota_is db used 0
	# A new job may not name a removed quota.
	run aq-quota rm db
	run --separate-stderr aq-put -Q db true
	assert_failure 65
}

@test "a job's slot is freed however it ends: done, released, lease run out" {
	run aq-quota add db
	put_ok 1 -Q db true
	put_ok 2 -Q db true
	[ "$(claim_id)" = 1 ]
	run aq-claim --release 1
	assert_success
	quota_is db used 0
	[ "$(claim_id)" = 1 ]
	run aq-claim --done 1 -x 3	# failed
	quota_is db used 0
	# A lease that runs out interrupts the job: its slot comes back.
	[ "$(claim_id -l 1)" = 2 ]
	sleep 1.5
	[ "$(claim_id)" = 2 ]
	run --separate-stderr aq-status --json 2
	assert_json '[0].interrupts' 1
	quota_is db used 1
}

@test "a dead worker's slot comes back: its job runs again" {
	run aq-quota add db
	put_ok 1 -Q db -c 'echo $AQ_ATTEMPT >>attempts; [ $AQ_ATTEMPT -gt 1 ] || sleep 60'
	aq-run </dev/null >worker.log 2>&1 &
	local w=$!
	local n=0
	until [ -s attempts ] || [ $n -ge 200 ]; do sleep 0.05; n=$((n + 1)); done
	kill -9 "$w"
	wait "$w" 2>/dev/null || :
	run timeout 30 aq-run --drain
	assert_success
	run --separate-stderr aq-status --json 1
	assert_json '[0].outcome' '"ok"'
	assert_json '[0].attempt' 2
	quota_is db used 0
}

@test "the limit holds with four workers claiming at once" {
	run aq-quota add db 2
	local job k n
	job='exec 9>>lock; flock 9; n=$(( $(cat cur 2>/dev/null || echo 0) + 1 )); echo $n >cur
		[ "$n" -gt "$(cat max 2>/dev/null || echo 0)" ] && echo $n >max; flock -u 9
		sleep 0.2
		flock 9; echo $(( $(cat cur) - 1 )) >cur; flock -u 9'
	printf '%s\n' "$job" >job.sh
	for k in $(seq 16); do
		put_ok "$k" -Q db -c 'sh ./job.sh'
	done
	put_ok 17 -c 'echo free >free'
	local pids=()
	for k in 1 2 3 4; do
		timeout 120 aq-run --drain -j 2 </dev/null >"w$k.log" 2>&1 &
		pids+=($!)
	done
	for k in "${pids[@]}"; do
		wait "$k"
	done
	[ "$(cat max)" -eq 2 ]
	[ "$(cat cur)" -eq 0 ]
	[ "$(cat free)" = free ]
	run --separate-stderr aq-status --json
	assert_json '.queues.default.ok' 17
	quota_is db used 0
}

@test "aq-quota lists quotas with their use, in text and JSON" {
	run --separate-stderr aq-quota
	assert_failure 69	# no environment: none made
	[ ! -e "$AQ_HOME" ]
	run aq-quota add db 2
	run aq-quota rm db
	run --separate-stderr aq-quota
	assert_success
	assert_output ''
	run aq-quota add db 2
	run aq-quota add net
	put_ok 1 -Q db true
	put_ok 2 -Q db -Q net true
	[ "$(claim_id)" = 1 ]
	run --separate-stderr aq-quota
	assert_success
	assert_line --index 0 --regexp '^QUOTA +SIZE +USED +WAITING$'
	assert_line --index 1 --regexp '^db +2 +1 +1$'
	assert_line --index 2 --regexp '^net +1 +0 +1$'
	run --separate-stderr aq-quota --json
	assert_json '.quotas[0].name' '"db"'
	assert_json '.quotas[0].size' 2
	assert_json '.quotas[0].used' 1
	assert_json '.quotas[0].waiting' 1
	assert_json '.quotas[1].name' '"net"'
	run --separate-stderr aq-quota --json show db
	assert_success
	assert_json '.held_by[0]' 1
	assert_json '.waiting_jobs[0]' 2
	run --separate-stderr aq-status --json
	assert_json '.quotas[0].name' '"db"'
	assert_json '.quotas[1].waiting' 1
}

@test "a quota removed and made again starts empty: the old holders give nothing back" {
	run aq-quota add db
	put_ok 1 -Q db true
	[ "$(claim_id)" = 1 ]
	run aq-quota rm db
	run aq-quota add db
	quota_is db used 0
	put_ok 2 -Q db true
	put_ok 3 -Q db true
	[ "$(claim_id)" = 2 ]
	run aq-claim --done 1	# held the old one
	assert_success
	quota_is db used 1
	[ "$(claim_id)" = none ]
}

@test "a job may not name a quota twice (65)" {
	run aq-quota add db
	run --separate-stderr aq-put -Q db -Q db true
	assert_failure 65
	assert_stderr "aq-put: quota 'db' named twice"
	assert_no_jobs
}

@test "room in a quota is not left unused: a freed slot's job that cannot run lets the next one" {
	run aq-quota add db
	put_ok 1 -q x -Q db true
	put_ok 2 -q a -Q db true
	put_ok 3 -q b -Q db true
	[ "$(claim_id -q x)" = 1 ]
	[ "$(claim_id -q a)" = none ]	# held back behind db
	[ "$(claim_id -q b)" = none ]
	run aq-queue pause a
	run aq-claim --done 1
	# Job 2 got the slot, but its queue is paused: job 3 may have it.
	[ "$(claim_id -q b)" = 3 ]
	run aq-queue resume a
	[ "$(claim_id -q a)" = none ]	# db is full again
	run aq-claim --done 3
	[ "$(claim_id -q a)" = 2 ]
}

@test "a freed slot goes to the first held-back job in claim order, whatever its queue" {
	run aq-quota add db
	put_ok 1 -q x -Q db true
	put_ok 2 -q a -Q db true
	put_ok 3 -q z -p 10 -Q db true
	[ "$(claim_id -q x)" = 1 ]
	[ "$(claim_id -q a -q z)" = none ]	# both held back
	run aq-claim --done 1
	[ "$(claim_id -q a -q z)" = 3 ]
	run aq-claim --done 3
	[ "$(claim_id -q a -q z)" = 2 ]
}
