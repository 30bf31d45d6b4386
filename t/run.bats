#!/usr/bin/env bats
# t/run.bats: aq-run, the worker: running jobs, what is recorded, slots,
# draining, signals, registration, pings and deaths, output caps, time
# limits and retries; and the aq-status views that go with it (-W, -S,
# -o, -w).  Every wait is bounded; workers a test leaves behind are killed
# in teardown.

load helper
load worker

# ---- usage ----

@test "aq-run -h, --help, -V and --version" {
	help_and_version_ok aq-run
}

@test "aq-run with an unknown option, an operand, or --drain with -n exits 64 with the usage" {
	run --separate-stderr aq-run -Z
	assert_usage_error aq-run
	run --separate-stderr aq-run extra
	assert_usage_error aq-run
	run --separate-stderr aq-run --drain -n 3
	assert_usage_error aq-run
	run --separate-stderr aq-run --log x --syslog
	assert_usage_error aq-run
	[ ! -e "$AQ_HOME" ]
}

@test "aq-run refuses bad values with a message and changes nothing" {
	run --separate-stderr aq-run -j 0 --drain
	assert_failure 64
	assert_stderr "aq-run: bad slot count '0'"
	run --separate-stderr aq-run -j 2000 --drain
	assert_failure 64
	run --separate-stderr aq-run -n x
	assert_failure 64
	assert_stderr "aq-run: bad job count 'x'"
	run --separate-stderr aq-run -i soon --drain
	assert_failure 65
	assert_stderr "aq-run: bad duration 'soon'"
	run --separate-stderr aq-run --output-cap 12X --drain
	assert_failure 65
	assert_stderr "aq-run: bad size '12X'"
	run --separate-stderr aq-run --ping 2m --drain
	assert_failure 64
	assert_stderr "aq-run: the death interval must exceed the ping interval"
	run --separate-stderr aq-run -q 'a/b' --drain
	assert_failure 65
	assert_stderr "aq-run: bad queue name 'a/b'"
	[ ! -e "$AQ_HOME" ]
}

@test "aq-run refuses a UUID file that holds no UUID (65)" {
	put_ok 1 true
	echo 'not a uuid' >uuid
	run --separate-stderr aq-run -u uuid --drain
	assert_failure 65
	assert_stderr "aq-run: bad uuid in 'uuid'"
	job_is 1 .state '"pending"'
}

# ---- running jobs ----

@test "--drain runs every job once, records it, and exits 0" {
	put_ok 1 echo hello
	put_ok 2 -c 'echo to stderr >&2'
	run --separate-stderr timeout 30 aq-run --drain
	assert_success
	job_is 1 .outcome '"ok"'
	assert_json '[0].exit' 0
	assert_json '[0].attempt' 1
	assert_json_match '[0].worker' '^"[0-9a-f-]{36}"$'
	assert_json_match '[0].started' "$RFC3339_JSON"
	assert_json_match '[0].ended' "$RFC3339_JSON"
	assert_json '[0].output_size' 6
	job_is 2 .outcome '"ok"'
	run aq-status -o 1
	assert_success
	assert_output hello
	run aq-status -o 2
	assert_output 'to stderr'
	run aq-status 1
	assert_line --index 0 'id:        1'
	assert_line 'last output:'
	assert_line '  hello'
	run aq-status -W --json
	assert_json '[0].status' '"STOPPED"'
}

@test "exit codes and signals are recorded, and aq-status -w exits with them" {
	put_ok 1 -c 'exit 3'
	put_ok 2 -c 'kill -9 $$'
	put_ok 3 -c 'kill -TERM $$'
	put_ok 4 true
	run timeout 30 aq-run --drain
	assert_success
	job_is 1 .outcome '"failed"'
	assert_json '[0].exit' 3
	assert_json '[0].signal' null
	job_is 2 .outcome '"failed"'
	assert_json '[0].signal' 9
	assert_json '[0].exit' null
	job_is 3 .signal 15
	run aq-status -w 1
	assert_failure 3
	run aq-status -w 2
	assert_failure 137
	run aq-status -w 4
	assert_success
	run aq-status -w 4 1 2
	assert_failure 137
}

@test "a missing program ends failed with 127, an unusable one with 126, a vanished directory with 1" {
	put_ok 1 no-such-program-here
	printf 'echo hi\n' >noexec && chmod 0644 noexec
	put_ok 2 ./noexec
	mkdir gone
	(cd gone && put_ok 3 true)
	rmdir gone
	run timeout 30 aq-run --drain
	assert_success
	job_is 1 .exit 127
	assert_json '[0].outcome' '"failed"'
	run aq-status -o 1
	assert_output 'aq-run: no-such-program-here: command not found'
	job_is 2 .exit 126
	run aq-status -o 2
	assert_output --partial 'aq-run: ./noexec: Permission denied'
	job_is 3 .exit 1
	run aq-status -o 3
	assert_output --partial "aq-run: cannot change to directory '$BATS_TEST_TMPDIR/gone'"
}

@test "a script without #! runs under sh, as execvp does" {
	printf 'echo "script $1"\n' >plain && chmod 0755 plain
	put_ok 1 ./plain arg
	run timeout 30 aq-run --drain
	assert_success
	run aq-status -o 1
	assert_output 'script arg'
}

@test "a job gets its directory, its environment and aq's variables, /dev/null as stdin, default signals, its own session" {
	mkdir -p work
	cd work
	put_ok 1 --name envcheck -q q1 -c '
		pwd; echo "FOO=$FOO"; echo "HOME=$AQ_HOME"; echo "Q=$AQ_QUEUE"
		echo "ID=$AQ_JOB_ID"; echo "ATT=$AQ_ATTEMPT"; echo "W=$AQ_WORKER"
		read -r x && echo "stdin not empty" || echo "stdin empty"
		ps -o sid= -p $$; echo "pid $$"
		# Not /proc/$$: a shell blocks every signal while it waits.
		exec grep -E "^(SigIgn|SigBlk)" /proc/self/status' <<<"some input"
	cd ..
	FOO=bar
	run timeout 30 aq-run --drain -q q1 -u uuid
	assert_success
	run aq-status -o 1
	assert_line --index 0 "$BATS_TEST_TMPDIR/work"
	assert_line --index 1 'FOO='
	assert_line --index 2 "HOME=$AQ_HOME"
	assert_line --index 3 'Q=q1'
	assert_line --index 4 'ID=1'
	assert_line --index 5 'ATT=1'
	assert_line --index 6 "W=$(cat uuid)"
	assert_line --index 7 'stdin empty'
	assert_line --index 10 --regexp '^SigBlk:[[:space:]]+0+$'
	assert_line --index 11 --regexp '^SigIgn:[[:space:]]+0+$'
	# Its own session: the session id is its own pid.
	local sid pid
	sid=$(sed -n 9p <<<"$output" | tr -d ' ')
	pid=$(sed -n 10p <<<"$output" | sed 's/pid //')
	[ "$sid" = "$pid" ]
}

@test "a job has no descriptor open but 0, 1 and 2" {
	put_ok 1 -c "echo \$\$ >pid; exec sleep 5 # $(tag a)"
	start_worker
	wait_for 10 test -s pid
	run ls "/proc/$(cat pid)/fd"
	assert_success
	assert_output "$(printf '0\n1\n2')"
}

@test "the environment at aq-put time is the one the job sees" {
	FOO=captured put_ok 1 -c 'echo "FOO=$FOO"'
	FOO=other run timeout 30 aq-run --drain
	assert_success
	run aq-status -o 1
	assert_output 'FOO=captured'
}

@test "-j 3 runs three jobs at once and never four" {
	local k job
	job='exec 9>>lock; flock 9; n=$(( $(cat cur 2>/dev/null || echo 0) + 1 )); echo $n >cur
		[ "$n" -gt "$(cat max 2>/dev/null || echo 0)" ] && echo $n >max; flock -u 9
		sleep 0.4
		flock 9; echo $(( $(cat cur) - 1 )) >cur; flock -u 9'
	for k in 1 2 3 4 5 6 7 8 9; do
		put_ok "$k" -c "$job"
	done
	run timeout 60 aq-run --drain -j 3
	assert_success
	[ "$(cat max)" -eq 3 ]
	[ "$(cat cur)" -eq 0 ]
	assert_jobs 9
	run aq-status --json
	assert_json '.queues.default.ok' 9
}

@test "a worker raises its own descriptor limit for its slots; its jobs get the limit it was given" {
	local k
	for k in $(seq 1 100); do
		put_ok "$k" -c 'ulimit -n >"lim.$AQ_JOB_ID"; sleep 0.3'
	done
	# 100 slots need some 300 descriptors; 128 is all it is given
	run bash -c 'ulimit -S -n 128 && exec timeout 60 aq-run --drain -j 100'
	assert_success
	refute_output --partial 'given back'
	refute_output --partial 'may need'
	run aq-status --json
	assert_json '.queues.default.ok' 100
	for k in $(seq 1 100); do
		[ "$(cat "lim.$k")" = 128 ]
	done
}

@test "out of descriptors, a job is given back unstarted: it runs later, not failed, lost or interrupted" {
	local k
	for k in $(seq 1 100); do
		put_ok "$k" -c 'sleep 0.2'
	done
	# a hard limit of 128: the worker cannot have a socket for each slot
	run bash -c 'ulimit -n 128 && exec timeout 120 aq-run --drain -j 100'
	assert_success
	assert_output --partial '100 slots may need 564 open files, the limit is 128: jobs may wait for descriptors'
	assert_output --partial 'cannot reach the launcher: Too many open files; given back'
	run aq-status --json
	assert_json '.queues.default.ok' 100
	run aq-status -S --json
	assert_json '.started' 100
	assert_json '.interrupted' 0
	for k in $(seq 1 100); do
		job_is "$k" .attempt 1
	done
}

@test "-n runs that many jobs, then exits 0; the rest stay pending" {
	local k
	for k in 1 2 3 4 5; do put_ok "$k" true; done
	run timeout 30 aq-run -n 2
	assert_success
	run aq-status --json
	assert_json '.queues.default.ok' 2
	assert_json '.queues.default.ready' 3
	# none of them was claimed, ahead or otherwise
	for k in 3 4 5; do
		job_is "$k" .attempt 0
	done
	run aq-status -S --json
	assert_json '.started' 2
}

@test "a job claimed ahead of a long one is given back unrun: another claimer runs it as attempt 1" {
	put_ok 1 -c "sleep 3 # $(tag a)"
	put_ok 2 true
	start_worker
	wait_for 10 job_active 1
	# claimed ahead or not, job 2 is pending while job 1 runs
	wait_for 10 job_pending 2
	claim_ok 2
	job_is 2 .attempt 1
	job_is 2 .interrupts 0
	job_is 1 .state '"active"'
	run aq-status -S --json
	assert_json '.started' 2
	assert_json '.interrupted' 0
}

@test "a job too big to wait in the launcher is given back at once rather than held ahead" {
	local x
	put_ok 1 true
	put_ok 2 -c "for i in \$(seq 600); do [ -e go ] && exit; sleep 0.05; done # $(tag a)"
	# some 300 KB of environment: more than a slot's socket holds
	x=$(head -c 100000 /dev/zero | tr '\0' x)
	B1=$x B2=$x B3=$x put_ok 3 true
	start_worker --drain -j 1
	wait_for 10 job_active 2
	# given back while job 2 runs: the worker is not stuck sending it
	wait_for 10 job_pending 3
	job_is 2 .state '"active"'
	job_is 3 .attempt 0
	touch go
	wait_exit "$wpid" 30
	[ "$wstatus" -eq 0 ]
	job_is 3 .outcome '"ok"'
	job_is 3 .attempt 1
	run aq-status -S --json
	assert_json '.started' 3
	assert_json '.interrupted' 0
}

@test "only the queues given are served" {
	put_ok 1 -q a true
	put_ok 2 -q b true
	put_ok 3 -q c true
	run timeout 30 aq-run --drain -q a -q c
	assert_success
	job_is 1 .state '"done"'
	job_is 2 .state '"pending"'
	job_is 3 .state '"done"'
}

@test "agents: each takes only the jobs its glob accepts, up to its slots; the rest stay pending" {
	put_ok 1 -n ffmpeg-a -c 'echo $AQ_JOB_ID >>video'
	put_ok 2 -n convert -c 'echo $AQ_JOB_ID >>other'
	put_ok 3 -n ffmpeg-b -c 'echo $AQ_JOB_ID >>video'
	run timeout 30 aq-run --drain -a 'video=1:ffmpeg*'
	assert_success
	[ "$(cat video | tr '\n' ' ')" = '1 3 ' ]
	[ ! -e other ]
	job_is 2 .state '"pending"'
	job_is 1 .agent '"video"'
	run timeout 30 aq-run --drain -a main=2 -a 'video=1:ffmpeg*'
	assert_success
	[ "$(cat other)" = 2 ]
	job_is 2 .agent '"main"'
}

@test "agents run at most their slots at once" {
	local k job
	job='exec 9>>lock; flock 9; n=$(( $(cat cur 2>/dev/null || echo 0) + 1 )); echo $n >cur
		[ "$n" -gt "$(cat max 2>/dev/null || echo 0)" ] && echo $n >max; flock -u 9
		sleep 0.3
		flock 9; echo $(( $(cat cur) - 1 )) >cur; flock -u 9'
	for k in 1 2 3 4 5 6; do
		put_ok "$k" -n "render-$k" -c "$job"
	done
	put_ok 7 -n other -c 'echo ran >other'
	run timeout 60 aq-run --drain -a 'render=2:render-*' -a 'spare=1:nothing'
	assert_success
	[ "$(cat max)" -eq 2 ]
	job_is 7 .state '"pending"'
	run aq-status -W --json
	assert_json '[0].agents[0].name' '"render"'
	assert_json '[0].agents[0].slots' 2
	assert_json '[0].agents[0].filter' '"render-*"'
	assert_json '[0].agents[1].filter' '"nothing"'
	assert_json '[0].slots' 3
}

@test "bad agents exit 64 with a message: -j with -a, no =, bad slots, twice, empty glob" {
	put_ok 1 true
	local c
	while IFS='|' read -r args msg; do
		eval "set -- $args"
		run --separate-stderr aq-run --drain "$@"
		assert_failure 64
		assert_output ''
		assert_stderr "aq-run: $msg"
		c=$((c + 1))
	done <<-'EOF'
	-j 2 -a a=1|-j and -a exclude each other: -j N is -a main=N
	-a main|bad agent 'main': NAME=SLOTS[:GLOB]
	-a =1|bad agent '=1': NAME=SLOTS[:GLOB]
	-a 'a b=1'|bad agent name 'a b'
	-a a=0|bad slot count '0' of agent 'a'
	-a a=x|bad slot count 'x' of agent 'a'
	-a a=1025|bad slot count '1025' of agent 'a'
	-a a=1 -a a=2|agent 'a' given twice
	-a a=1:|bad agent 'a=1:': an empty glob
	-a a=1000 -a b=100|more than 1024 slots
	EOF
	[ "$c" -eq 10 ]
	job_is 1 .state '"pending"'
}

@test "an idle worker starts a put job at once, without waiting for its poll" {
	start_worker -i 1h
	wait_for 10 test -e "$AQ_HOME/wake"
	sleep 0.2
	put_ok 1 -c 'echo ran'
	wait_for 10 job_done 1
	job_is 1 .outcome '"ok"'
	kill -TERM "$wpid"
	wait_exit "$wpid" 20
	[ "$wstatus" -eq 0 ]
}

# ---- signals ----

@test "SIGTERM to an idle worker exits 0 and marks it STOPPED" {
	start_worker -u uuid
	wait_for 10 test -s uuid
	wait_for 10 aq-status -W
	run aq-status -W --json
	assert_json '[0].status' '"RUNNING"'
	assert_json '[0].pid' "$wpid"
	kill -TERM "$wpid"
	wait_exit "$wpid" 20
	[ "$wstatus" -eq 0 ]
	run aq-status -W --json
	assert_json '[0].status' '"STOPPED"'
	assert_json '[0].uuid' "\"$(cat uuid)\""
}

@test "SIGTERM lets a running job finish, then the worker exits 0" {
	put_ok 1 -c "sleep 1; echo finished # $(tag a)"
	start_worker
	wait_for 10 job_active 1
	kill -TERM "$wpid"
	wait_exit "$wpid" 30
	[ "$wstatus" -eq 0 ]
	job_is 1 .outcome '"ok"'
	run aq-status -o 1
	assert_output finished
}

@test "a second SIGTERM kills a job that ignores SIGTERM, and the job goes back to pending" {
	put_ok 1 -c "trap '' TERM; echo started; sleep 60 # $(tag a)"
	start_worker --grace 1s
	wait_for 10 job_active 1
	wait_for 10 test -s "$AQ_HOME/out/1"
	kill -TERM "$wpid"
	sleep 0.3
	kill -0 "$wpid"		# still waiting for the job
	kill -TERM "$wpid"
	wait_exit "$wpid" 30
	[ "$wstatus" -eq 0 ]
	job_is 1 .state '"pending"'
	assert_json '[0].interrupts' 1
	assert_json '[0].attempt' 1
	run grep -c 'stopped and interrupted' "$BATS_TEST_TMPDIR/worker.log"
	assert_output 1
}

@test "SIGHUP reopens the log file" {
	start_worker --log run.log
	wait_for 10 grep -q started run.log
	mv run.log run.log.1
	kill -HUP "$wpid"
	wait_for 10 test -e run.log
	kill -TERM "$wpid"
	wait_exit "$wpid" 20
	grep -q 'stopped after' run.log
	! grep -q 'stopped after' run.log.1
}

# ---- registration, death, takeover ----

@test "a worker killed mid-job is noticed by the next one, which runs the job again (attempt 2)" {
	put_ok 1 -c "echo \$AQ_ATTEMPT >>attempts; sleep \$(( 3 - \$AQ_ATTEMPT )) # $(tag a)"
	start_worker
	# Active is not enough: killed before the job's first line, the
	# first run would leave no trace in attempts.
	wait_for 10 test -s attempts
	local dead=$wpid
	kill -9 "$dead"
	wait "$dead" 2>/dev/null || :
	run timeout 30 aq-run --drain
	assert_success
	assert_output --partial 'found 1 dead worker; interrupted 1 job'
	job_is 1 .outcome '"ok"'
	assert_json '[0].attempt' 2
	assert_json '[0].interrupts' 1
	[ "$(cat attempts)" = "$(printf '1\n2')" ]
	run aq-status -W --json
	assert_output --partial '"status":"DEAD"'
}

@test "a worker killed mid-job has its launcher stop the job: SIGTERM, then SIGKILL after the grace" {
	put_ok 1 -c "echo \$\$ >pid1; sleep 60 # $(tag a)"
	put_ok 2 -q q2 -c "trap '' TERM; echo \$\$ >pid2; sleep 60 # $(tag b)"
	start_worker -q default -q q2 -j 2 --grace 1s
	wait_for 10 test -s pid1
	wait_for 10 test -s pid2
	local p1 p2 launcher
	p1=$(cat pid1)
	p2=$(cat pid2)
	launcher=$(pgrep -P "$wpid" -f 'aq-run: launcher')
	[ -n "$launcher" ]
	kill -9 "$wpid"
	wait "$wpid" 2>/dev/null || :
	# The first goes at once; the one that ignores SIGTERM after 1 s.
	wait_for 10 gone "$p1"
	wait_for 10 gone "$p2"
	# And the launcher leaves.
	wait_for 10 gone "$launcher"
}

# The CPU time (in clock ticks) process $1 has used.
ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

@test "a launcher whose worker died sleeps through the grace, it does not spin" {
	put_ok 1 -c "trap '' TERM; echo \$\$ >pid; sleep 60 # $(tag a)"
	start_worker --grace 4s
	wait_for 10 test -s pid
	local launcher t0 t1
	launcher=$(pgrep -P "$wpid" -f 'aq-run: launcher')
	[ -n "$launcher" ]
	kill -9 "$wpid"
	wait "$wpid" 2>/dev/null || :
	t0=$(ticks "$launcher")
	sleep 2
	t1=$(ticks "$launcher")
	# Spinning, it would take most of the 200 ticks of those 2 s.
	[ $((t1 - t0)) -lt 50 ]
	wait_for 10 gone "$(cat pid)"
	wait_for 10 gone "$launcher"
}

@test "a killed launcher: its jobs die with it; the worker interrupts them, starts a new launcher and runs them again" {
	put_ok 1 -c "echo \$AQ_ATTEMPT >>attempts; [ \$AQ_ATTEMPT -gt 1 ] && exit 0; sleep 60 & echo \$! >kid; echo \$\$ >pid; wait # $(tag a)"
	start_worker
	wait_for 10 test -s pid
	local launcher job kid
	job=$(cat pid)
	kid=$(cat kid)
	launcher=$(pgrep -P "$wpid" -f 'aq-run: launcher')
	[ -n "$launcher" ]
	wait_for 10 waiting_in_poll "$wpid"
	kill -STOP "$wpid"
	kill -9 "$launcher"
	# Not the worker's doing, stopped as it is: the job went with the
	# launcher, as a job that it was starting would.
	wait_for 10 gone "$job"
	kill -CONT "$wpid"
	wait_for 20 job_done 1
	job_is 1 .outcome '"ok"'
	assert_json '[0].attempt' 2
	assert_json '[0].interrupts' 1
	# What the job left in its group, the worker stopped.
	wait_for 10 gone "$kid"
	[ "$(cat attempts)" = "$(printf '1\n2')" ]
	grep -q 'the launcher was killed by signal 9; 1 job interrupted' "$BATS_TEST_TMPDIR/worker.log"
	# The worker goes on with a new launcher.
	put_ok 2 true
	wait_for 20 job_done 2
	job_is 2 .outcome '"ok"'
	kill -0 "$wpid"
}

@test "an --at-most-once job of a worker killed mid-job ends lost" {
	put_ok 1 --at-most-once -c "sleep 30 # $(tag a)"
	start_worker
	wait_for 10 job_active 1
	kill -9 "$wpid"
	run timeout 30 aq-run --drain
	assert_success
	job_is 1 .outcome '"lost"'
	run aq-status -w 1
	assert_failure 1
}

@test "aq-claim notices a dead worker and claims its interrupted job" {
	put_ok 1 -c "sleep 30 # $(tag a)"
	start_worker
	wait_for 10 job_active 1
	kill -9 "$wpid"
	wait "$wpid" 2>/dev/null || :
	run --separate-stderr timeout 20 aq-claim
	assert_success
	assert_output --regexp '^1	'
	job_is 1 .attempt 2
}

@test "a worker restarted with the same UUID takes its jobs over at once" {
	put_ok 1 -c "echo \$AQ_ATTEMPT >>attempts; [ \$AQ_ATTEMPT -gt 1 ] || sleep 30 # $(tag a)"
	start_worker -u uuid --death 1h --ping 30m
	wait_for 10 job_active 1
	kill -9 "$wpid"
	wait "$wpid" 2>/dev/null || :
	run timeout 30 aq-run --drain -u uuid --death 1h --ping 30m
	assert_success
	assert_output --partial 'took over 1 job of an earlier run'
	job_is 1 .outcome '"ok"'
	assert_json '[0].attempt' 2
	assert_json '[0].worker' "\"$(cat uuid)\""
}

@test "\$AQ_UUID names the UUID file when -u is not given" {
	put_ok 1 true
	AQ_UUID=$BATS_TEST_TMPDIR/env.uuid run timeout 30 aq-run --drain
	assert_success
	[ -s env.uuid ]
	job_is 1 .worker "\"$(cat env.uuid)\""
}

@test "an idle worker uses no CPU between polls" {
	start_worker -i 1h
	wait_for 10 aq-status -W
	sleep 0.5
	local a b
	a=$(awk '{ print $14 + $15 }' "/proc/$wpid/stat")
	sleep 2
	b=$(awk '{ print $14 + $15 }' "/proc/$wpid/stat")
	# Clock ticks of user and system time: none while idle.
	[ $((b - a)) -le 1 ]
}

@test "a second worker with the UUID of a live one is refused (75)" {
	start_worker -u uuid
	wait_for 10 aq-status -W
	run --separate-stderr aq-run -u uuid --drain
	assert_failure 75
	assert_stderr_match "^aq-run: a worker runs under this UUID already \(pid $wpid on "
}

@test "--pidfile refuses a second worker (75) and is removed at exit" {
	start_worker --pidfile pid
	wait_for 10 test -s pid
	[ "$(cat pid)" -eq "$wpid" ]
	run --separate-stderr aq-run --pidfile pid --drain
	assert_failure 75
	assert_stderr_match "^aq-run: already running with pid file 'pid' \(pid $wpid\)"
	kill -TERM "$wpid"
	wait_exit "$wpid" 20
	[ ! -e pid ]
}

@test "a worker judged dead cannot overwrite the job's next run" {
	put_ok 1 -c "echo \$AQ_WORKER >>runs; sleep \$(( \$AQ_ATTEMPT == 1 ? 3 : 4 )) # $(tag a)"
	start_worker --ping 1s --death 2s -u a.uuid
	local a=$wpid
	wait_for 10 job_active 1
	# Stop it while it waits in poll(2), not inside a transaction: a
	# process stopped there would hold up everyone (see aq(7)).
	wait_for 10 waiting_in_poll "$a"
	kill -STOP "$a"
	start_worker --ping 1s --death 2s -u b.uuid
	local b=$wpid
	wait_for 20 file_has_lines runs 2
	kill -CONT "$a"
	wait_for 20 grep -q 'lost the claim' "$BATS_TEST_TMPDIR/worker.log"
	wait_for 20 job_done 1
	job_is 1 .attempt 2
	assert_json '[0].worker' "\"$(cat b.uuid)\""
	assert_json '[0].outcome' '"ok"'
	kill -TERM "$a" "$b"
	wait_exit "$a" 20
	wait_exit "$b" 20
}

@test "two workers on one queue never run the same job" {
	local k
	for k in $(seq 1 40); do echo "echo \$AQ_JOB_ID >>runs"; done >batch
	run aq-put -b <batch
	assert_success
	start_worker --drain -j 2
	local a=$wpid
	start_worker --drain -j 2
	local b=$wpid
	wait_exit "$a" 60
	wait_exit "$b" 60
	[ "$(wc -l <runs)" -eq 40 ]
	[ "$(sort -n runs | uniq | wc -l)" -eq 40 ]
	run aq-status --json
	assert_json '.queues.default.ok' 40
}

@test "two --drain workers started at once share the queue and both exit 0" {
	local k
	for k in $(seq 1 20); do echo "sleep 0.1; echo \$AQ_WORKER >>runs"; done >batch
	aq-put -b <batch >/dev/null
	start_worker --drain
	local a=$wpid
	start_worker --drain
	local b=$wpid
	wait_exit "$a" 60
	[ "$wstatus" -eq 0 ]
	wait_exit "$b" 60
	[ "$wstatus" -eq 0 ]
	[ "$(wc -l <runs)" -eq 20 ]
	[ "$(sort -u runs | wc -l)" -eq 2 ]
}

# ---- jobs are other people's code ----

@test "an output flood is capped; the job is not stopped and the cap is recorded" {
	put_ok 1 -c 'head -c 5000000 /dev/zero; echo done >&2'
	put_ok 2 true
	run timeout 60 aq-run --drain --output-cap 100k
	assert_success
	job_is 1 .outcome '"ok"'
	assert_json '[0].output_size' 5000005
	assert_json '[0].output_cap' 102400
	run stat -c %s "$AQ_HOME/out/1"
	[ "$output" -lt 102600 ]
	[ "$output" -gt 102400 ]
	tail -n 1 "$AQ_HOME/out/1" | grep -q '^aq-run: output capped at 102400 bytes; the rest (4897605 bytes) was dropped$'
	job_is 2 .outcome '"ok"'
}

@test "a job that forks a child and exits ends at once; the worker goes on" {
	put_ok 1 -c "sleep 30 & echo parent done # $(tag a)"
	put_ok 2 true
	run timeout 20 aq-run --drain
	assert_success
	job_is 1 .outcome '"ok"'
	job_is 2 .outcome '"ok"'
	run aq-status -o 1
	assert_output 'parent done'
}

@test "--timeout stops a job with SIGTERM, then SIGKILL after the grace; outcome timeout, status 124" {
	put_ok 1 --timeout 1s -c "sleep 30 # $(tag a)"
	put_ok 2 --timeout 1s -c "trap '' TERM; sleep 30 # $(tag b)"
	run timeout 40 aq-run --drain -j 2 --grace 1s
	assert_success
	job_is 1 .outcome '"timeout"'
	assert_json '[0].signal' 15
	job_is 2 .outcome '"timeout"'
	assert_json '[0].signal' 9
	run aq-status -w 1
	assert_failure 124
}

@test "--retries runs a failing job again, with AQ_ATTEMPT counting" {
	put_ok 1 --retries 2 --retry-delay 100ms -c 'echo $AQ_ATTEMPT >>attempts; exit 5'
	put_ok 2 --retries 3 --retry-delay 100ms -c '[ $AQ_ATTEMPT -ge 2 ]'
	start_worker
	wait_for 30 job_done 1
	wait_for 30 job_done 2
	job_is 1 .outcome '"failed"'
	assert_json '[0].attempt' 3
	assert_json '[0].failures' 3
	assert_json '[0].exit' 5
	[ "$(cat attempts)" = "$(printf '1\n2\n3')" ]
	job_is 2 .outcome '"ok"'
	assert_json '[0].attempt' 2
	run aq-status -S --json
	assert_json '.retried' 3
}

# ---- aq-status views ----

@test "aq-status -W shows a running worker with its jobs; a killed one becomes DEAD" {
	put_ok 1 -c "sleep 30 # $(tag a)"
	start_worker -j 2 -q default -q other -u uuid
	wait_for 10 job_active 1
	run --separate-stderr aq-status -W
	assert_success
	assert_line --index 0 --regexp '^UUID +STATUS +HOST +PID +UPTIME +LAST-PING +LAST-POLL +SLOTS +QUEUES +AGENTS +ACTIVE$'
	assert_line --index 1 --regexp "^$(cat uuid) RUNNING .* $wpid .* 2 default,other main=2 1\$"
	run aq-status -W --json
	assert_json '[0].slots' 2
	assert_json '[0].queues[1]' '"other"'
	assert_json '[0].active[0]' 1
	assert_json '[0].agents[0].name' '"main"'
	assert_json '[0].agents[0].slots' 2
	assert_json '[0].agents[0].filter' null
	assert_json '[0].agents[0].active[0]' 1
	run aq-status --json
	assert_json '.workers[0].status' '"RUNNING"'
	job_is 1 .worker "\"$(cat uuid)\""
	kill -9 "$wpid"
	wait "$wpid" 2>/dev/null || :
	run aq-status -W --json
	assert_json '[0].status' '"DEAD"'
}

@test "a dead worker's record keeps its queues and says DEAD" {
	put_ok 1 -q other -c "[ \$AQ_ATTEMPT -gt 1 ] || sleep 30 # $(tag a)"
	start_worker -q other -q default -u uuid
	wait_for 10 job_active 1
	kill -9 "$wpid"
	wait "$wpid" 2>/dev/null || :
	run timeout 30 aq-run --drain -q other
	assert_success
	assert_output --partial 'found 1 dead worker; interrupted 1 job'
	run aq-status -W --json
	assert_success
	assert_output --partial "\"uuid\":\"$(cat uuid)\""
	assert_output --partial '"status":"DEAD"'
	assert_output --partial '"queues":["other","default"]'
	# The UUID can serve again.
	run timeout 30 aq-run --drain -u uuid
	assert_success
}

@test "a job's rusage is its own, not the worker's" {
	put_ok 1 -c 'exit 0'
	put_ok 2 -c 'head -c 30000000 /dev/zero | tail -c 20000000 >/dev/null'
	run timeout 30 aq-run --drain
	assert_success
	local small big
	job_is 1 .state '"done"'
	small=$(json_get '[0].maxrss')
	job_is 2 .state '"done"'
	big=$(json_get '[0].maxrss')
	# The worker's own resident size (its share of the cache) is not in it.
	[ "$small" -gt 0 ] && [ "$small" -lt 8000 ]
	[ "$big" -gt 19000 ]
}

@test "a retry after the deadline still runs: the job began in time" {
	put_ok 1 --deadline 1s --retries 1 --retry-delay 1500ms -c 'echo $AQ_ATTEMPT >>attempts; [ $AQ_ATTEMPT -ge 2 ]'
	start_worker
	wait_for 30 job_done 1
	job_is 1 .outcome '"ok"'
	assert_json '[0].attempt' 2
}

@test "aq-status -w with a missing job exits 66 at once, without waiting for the others" {
	put_ok 1 -c 'sleep 1'
	run --separate-stderr timeout 10 aq-status -w 1 99
	assert_failure 66
	assert_stderr "aq-status: no such job '99'"
}

@test "aq-status -S counts starts, outcomes and run times of the last minutes" {
	put_ok 1 true
	put_ok 2 false
	put_ok 3 -c 'sleep 1'
	run timeout 30 aq-run --drain
	assert_success
	run aq-status -S --json
	assert_success
	assert_json '.started' 3
	assert_json '.ok' 2
	assert_json '.failed' 1
	assert_json '.longest.id' 3
	run aq-status -S
	assert_success
	assert_line --index 1 'started 3 interrupted 0 retried 0'
	run aq-status -S --window 1x
	assert_failure 65
}

@test "aq-status -o -f follows a job's output until it ends" {
	put_ok 1 -c 'echo one; sleep 1; echo two'
	start_worker
	run timeout 20 aq-status -o 1 -f
	assert_success
	assert_output "$(printf 'one\ntwo')"
}

@test "aq-status -w waits for a job put later to run; --timeout gives 1 while pending" {
	put_ok 1 -c 'exit 7'
	run --separate-stderr aq-status -w --timeout 200ms 1
	assert_failure 1
	start_worker
	run timeout 20 aq-status -w 1
	assert_failure 7
	run --separate-stderr aq-status -w 99
	assert_failure 66
	assert_stderr "aq-status: no such job '99'"
}

@test "aq-status -o of a missing job exits 66, a bad id 65, bad combinations 64" {
	put_ok 1 true
	run --separate-stderr aq-status -o 5
	assert_failure 66
	assert_output ''
	assert_stderr "aq-status: no such job '5'"
	local id args
	for id in x 0 1x ''; do
		run --separate-stderr aq-status -o "$id"
		assert_failure 65
		assert_stderr "aq-status: bad job id '$id'"
		run --separate-stderr aq-status -w "$id"
		assert_failure 65
		assert_stderr "aq-status: bad job id '$id'"
	done
	run --separate-stderr aq-status -w --timeout 5x 1
	assert_failure 65
	assert_stderr "aq-status: bad duration '5x'"
	for args in '-f' '-W 1' '-w' '--timeout 1s 1' '-o 1 2' '-o 1 --json' \
	    '-o 1 -w 1' '-l -o 1' '-w --json 1' '-w -l 1' '-s done' '-l 1'; do
		# shellcheck disable=SC2086
		run --separate-stderr aq-status $args
		assert_usage_error aq-status
	done
	job_is 1 .reason '"ready"'
}

@test "aq-claim --done refuses a job that a worker runs" {
	put_ok 1 -c "sleep 30 # $(tag a)"
	start_worker
	wait_for 10 job_active 1
	run --separate-stderr aq-claim --done 1
	assert_failure 1
	assert_stderr "aq-claim: job '1' is run by a worker"
	job_is 1 .state '"active"'
}
