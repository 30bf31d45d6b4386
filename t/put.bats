#!/usr/bin/env bats
# t/put.bats: aq-put as doc/cli.md describes it: usage, ids, argv, -c and
# -b jobs, what is captured, times, durations, priorities, names, quotas,
# and that refused input puts nothing.

load helper

# ---- usage, help, version ----

@test "aq-put -h, --help, -V and --version" {
	help_and_version_ok aq-put
}

@test "aq-put with an unknown option exits 64 with the usage on stderr" {
	run --separate-stderr aq-put -Z true
	assert_usage_error aq-put
	assert_no_jobs
}

@test "aq-put with an unknown long option exits 64 with the usage on stderr" {
	run --separate-stderr aq-put --no-such-option true
	assert_usage_error aq-put
	assert_no_jobs
}

@test "aq-put without a command exits 64 with the usage on stderr" {
	run --separate-stderr aq-put
	assert_usage_error aq-put
	run --separate-stderr aq-put -q other -p 3
	assert_usage_error aq-put
	run --separate-stderr aq-put --
	assert_usage_error aq-put
	assert_no_jobs
}

@test "aq-put with an option missing its argument exits 64" {
	run --separate-stderr aq-put true -q
	# -q after the command belongs to the command: this one is fine
	assert_success
	assert_output 1
	run --separate-stderr aq-put -q
	assert_usage_error aq-put
	run --separate-stderr aq-put -c
	assert_usage_error aq-put
	assert_jobs 1
}

# ---- ids ----

@test "aq-put prints the new ids 1, 2, 3 in order, across queues" {
	put_ok 1 true
	put_ok 2 -q other true
	put_ok 3 -c 'exit 0'
	put_ok 4 true
	assert_jobs 4
	assert_jobs 3 default
	assert_jobs 1 other
}

@test "aq-put run at the same time by several processes gives distinct ids" {
	local nth pids=()
	for nth in 1 2 3 4 5 6 7 8; do
		timeout 20 aq-put -q "c$nth" true >"out.$nth" 2>"err.$nth" &
		pids+=($!)
	done
	local rc
	for nth in "${!pids[@]}"; do
		rc=0
		wait "${pids[$nth]}" || rc=$?
		if [ "$rc" -ne 0 ]; then
			fail "aq-put -q c$((nth + 1)) exited $rc (124: timed out): $(cat "err.$((nth + 1))")"
		fi
	done
	run sort -n out.1 out.2 out.3 out.4 out.5 out.6 out.7 out.8
	assert_success
	assert_output "$(seq 1 8)"
	assert_jobs 8
}

# ---- argv jobs ----

@test "aq-put stores an argv job: argv, default name, queue and priority" {
	put_ok 1 /bin/echo hello world
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].id' 1
	assert_json '[0].argv[0]' '"/bin/echo"'
	assert_json '[0].argv[1]' '"hello"'
	assert_json '[0].argv[2]' '"world"'
	[ "$(json_len '[0].argv')" -eq 3 ]
	assert_json '[0].name' '"echo"'
	assert_json '[0].queue' '"default"'
	assert_json '[0].priority' 0
	assert_json '[0].state' '"pending"'
	assert_json '[0].reason' '"ready"'
	assert_json '[0].outcome' null
	assert_json '[0].quotas' '[]'
	assert_json '[0].deadline' null
}

@test "aq-put leaves the options after the command to the command" {
	put_ok 1 echo -n -q x
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].argv[0]' '"echo"'
	assert_json '[0].argv[1]' '"-n"'
	assert_json '[0].argv[2]' '"-q"'
	assert_json '[0].argv[3]' '"x"'
	assert_json '[0].queue' '"default"'
}

@test "aq-put -- ends its options" {
	put_ok 1 -q other -- printf -q
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].argv[0]' '"printf"'
	assert_json '[0].argv[1]' '"-q"'
	[ "$(json_len '[0].argv')" -eq 2 ]
	assert_json '[0].queue' '"other"'
	assert_json '[0].name' '"printf"'
}

@test "argv with spaces, quotes and shell characters round-trips through aq-claim" {
	local args=(printf '%s|' 'a b' "it's" 'say "hi"' '$HOME' '`id`' '' \
	    $'tab\there' '*' 'back\slash' '; echo no' '~' '-x' "'" '"' '!')
	put_ok 1 -- "${args[@]}"
	run --separate-stderr aq-claim
	assert_success
	assert_output --regexp $'^1\t'
	claimed_argv
	[ "$CLAIM_ID" = 1 ]
	assert_argv "${args[@]}"
}

@test "an argument with a newline round-trips through aq-claim" {
	local args=(printf '%s\n' $'two\nlines' 'x')
	put_ok 1 "${args[@]}"
	run --separate-stderr aq-claim
	assert_success
	assert_output --regexp $'^1\t'
	claimed_argv
	assert_argv "${args[@]}"
}

@test "argv quoting is kept in aq-status --json" {
	put_ok 1 printf '%s' 'say "hi"' 'back\slash'
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].argv[1]' '"%s"'
	assert_json '[0].argv[2]' '"say \"hi\""'
	assert_json '[0].argv[3]' '"back\\slash"'
}

# ---- -c jobs ----

@test "aq-put -c stores /bin/sh -c TEXT named sh" {
	put_ok 1 -c 'echo "$HOME" | tr a-z A-Z; exit 3'
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].argv[0]' '"/bin/sh"'
	assert_json '[0].argv[1]' '"-c"'
	assert_json '[0].argv[2]' '"echo \"$HOME\" | tr a-z A-Z; exit 3"'
	[ "$(json_len '[0].argv')" -eq 3 ]
	assert_json '[0].name' '"sh"'
	run --separate-stderr aq-claim
	assert_success
	claimed_argv
	assert_argv /bin/sh -c 'echo "$HOME" | tr a-z A-Z; exit 3'
}

# ---- name, queue, priority ----

@test "aq-put -n names the job and -q puts it in a queue" {
	put_ok 1 -n nightly-backup -q maint.x_1 tar cf x.tar .
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].name' '"nightly-backup"'
	assert_json '[0].queue' '"maint.x_1"'
	assert_json '[0].argv[0]' '"tar"'
	assert_jobs 1 maint.x_1
	assert_jobs 0 default
}

@test "aq-put -p stores the priority, -1000000..1000000 included" {
	put_ok 1 -p 1000000 true
	put_ok 2 -p -1000000 true
	put_ok 3 -p 7 true
	put_ok 4 -p 0 true
	run --separate-stderr aq-status --json 1 2 3 4
	assert_success
	assert_json '[0].priority' 1000000
	assert_json '[1].priority' -1000000
	assert_json '[2].priority' 7
	assert_json '[3].priority' 0
}

@test "aq-put -p with a bad priority exits 65 and puts nothing" {
	local p
	for p in abc '' 1.5 1000001 -1000001 99999999999999999999 5x ' '; do
		run --separate-stderr aq-put -p "$p" true
		assert_failure 65
		assert_output ''
		assert_stderr_match '^aq-put: '
	done
	assert_no_jobs
}

@test "a queue name of 255 bytes is good, 256 is bad (65, nothing put)" {
	local q255 q256
	q255=$(printf 'q%.0s' $(seq 255))
	q256=${q255}q
	[ "${#q255}" -eq 255 ]
	put_ok 1 -q "$q255" true
	assert_jobs 1 "$q255"
	run --separate-stderr aq-put -q "$q256" true
	assert_failure 65
	assert_output ''
	assert_stderr "aq-put: bad queue name '$q256'"
	assert_jobs 1
}

@test "aq-put -q with a bad queue name exits 65 and puts nothing" {
	local q
	run --separate-stderr aq-put -q 'a b' true
	assert_failure 65
	assert_output ''
	assert_stderr "aq-put: bad queue name 'a b'"
	for q in '' 'a/b' $'a\tb' $'a\nb' $'a\001b' ' ' '/'; do
		run --separate-stderr aq-put -q "$q" true
		assert_failure 65
		assert_output ''
		assert_stderr_match "^aq-put: bad queue name '"
	done
	assert_no_jobs
}

@test "aq-put -n with a bad job name exits 65 and puts nothing" {
	local n long
	long=$(printf 'n%.0s' $(seq 256))
	for n in 'a b' '' 'a/b' $'a\tb' $'a\001b' "$long"; do
		run --separate-stderr aq-put -n "$n" true
		assert_failure 65
		assert_output ''
		assert_stderr_match '^aq-put: '
	done
	assert_no_jobs
}

# ---- quotas ----

@test "aq-put -Q with any quota name exits 65 (unknown quota) and puts nothing" {
	run --separate-stderr aq-put -Q gpu true
	assert_failure 65
	assert_output ''
	assert_stderr "aq-put: unknown quota 'gpu'"
	run --separate-stderr aq-put -Q gpu -c 'echo x'
	assert_failure 65
	assert_output ''
	assert_stderr "aq-put: unknown quota 'gpu'"
	assert_no_jobs
}

@test "aq-put -Q refuses a batch whole (65, nothing put)" {
	printf 'echo a\necho b\n' >batch
	run --separate-stderr aq-put -Q db -b <batch
	assert_failure 65
	assert_output ''
	assert_stderr "aq-put: unknown quota 'db'"
	assert_no_jobs
}

@test "aq-put -Q refuses an unknown quota even when the environment exists" {
	put_ok 1 true
	run --separate-stderr aq-put -Q gpu true
	assert_failure 65
	assert_output ''
	assert_stderr "aq-put: unknown quota 'gpu'"
	assert_jobs 1
}

# ---- what is captured ----

@test "aq-put captures the environment, minus _" {
	export AQ_T_SPACES='a b  c'
	export AQ_T_QUOTE='say "hi" \ back'
	export AQ_T_EMPTY=
	unset AQ_T_UNSET
	put_ok 1 true
	unset AQ_T_SPACES AQ_T_QUOTE AQ_T_EMPTY
	run --separate-stderr aq-claim --json
	assert_success
	assert_json '.id' 1
	assert_json '.env.AQ_T_SPACES' '"a b  c"'
	assert_json '.env.AQ_T_QUOTE' '"say \"hi\" \\ back"'
	assert_json '.env.AQ_T_EMPTY' '""'
	assert_json ".env.PATH" "\"$PATH\""
	refute_json '.env.AQ_T_UNSET'
	refute_json '.env._'
}

@test "aq-put captures the environment of each job of a batch" {
	printf 'echo a\necho b\n' >batch
	AQ_T_BATCH=yes run --separate-stderr aq-put -b <batch
	assert_success
	assert_output $'1\n2'
	run --separate-stderr aq-claim --json
	assert_success
	assert_json '.env.AQ_T_BATCH' '"yes"'
	run --separate-stderr aq-claim --json
	assert_success
	assert_json '.env.AQ_T_BATCH' '"yes"'
}

@test "aq-put captures the working directory" {
	mkdir -p 'work dir/sub'
	cd 'work dir/sub'
	local here
	here=$(pwd -P)
	put_ok 1 true
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].cwd' "\"$here\""
	run --separate-stderr aq-claim --json
	assert_success
	assert_json '.cwd' "\"$here\""
}

# ---- times ----

@test "aq-put --at @EPOCH schedules the job at that instant" {
	put_ok 1 --at @2000000000 true
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].begin' '"2033-05-18T03:33:20Z"'
	assert_json '[0].state' '"pending"'
	assert_json '[0].reason' '"scheduled"'
}

@test "aq-put --at YYYY-MM-DDTHH:MM[:SS] and YYYY-MM-DD are local time" {
	TZ=UTC0 put_ok 1 --at 2030-01-02T03:04 true
	TZ=UTC0 put_ok 2 --at 2030-01-02T03:04:05 true
	TZ=XXX-2 put_ok 3 --at 2030-01-02T03:04:05 true
	TZ=UTC0 put_ok 4 --at 2030-01-02 true
	TZ=XXX-2 put_ok 5 --at 2030-01-02 true
	run --separate-stderr aq-status --json 1 2 3 4 5
	assert_success
	assert_json '[0].begin' '"2030-01-02T03:04:00Z"'
	assert_json '[1].begin' '"2030-01-02T03:04:05Z"'
	assert_json '[2].begin' '"2030-01-02T01:04:05Z"'
	assert_json '[3].begin' '"2030-01-02T00:00:00Z"'
	assert_json '[4].begin' '"2030-01-01T22:00:00Z"'
}

@test "aq-put --at HH:MM[:SS] is the next such time" {
	local t1 t2 t3 hm1 hms2 hm3
	t1=$(( $(now) + 7200 ))
	t2=$(( $(now) + 3600 ))
	t3=$(( $(now) - 7200 ))
	hm1=$(date -u -d "@$t1" +%H:%M)
	hms2=$(date -u -d "@$t2" +%H:%M:%S)
	hm3=$(date -u -d "@$t3" +%H:%M)
	TZ=UTC0 put_ok 1 --at "$hm1" true
	TZ=UTC0 put_ok 2 --at "$hms2" true
	TZ=UTC0 put_ok 3 --at "$hm3" true
	run --separate-stderr aq-status --json 1 2 3
	assert_success
	[ "$(json_time '[0].begin')" -eq $(( t1 - t1 % 60 )) ]
	[ "$(json_time '[1].begin')" -eq "$t2" ]
	# already past today: tomorrow
	[ "$(json_time '[2].begin')" -eq $(( t3 - t3 % 60 + 86400 )) ]
	assert_json '[0].reason' '"scheduled"'
	assert_json '[2].reason' '"scheduled"'
}

@test "aq-put --at +DURATION is relative to now, --at now is ready" {
	local before after
	before=$(now)
	put_ok 1 --at +1h true
	put_ok 2 --at now true
	after=$(now)
	run --separate-stderr aq-status --json 1 2
	assert_success
	assert_between $(( before + 3600 )) "$(json_time '[0].begin')" $(( after + 3600 ))
	assert_json '[0].reason' '"scheduled"'
	assert_between "$before" "$(json_time '[1].begin')" "$after"
	assert_json '[1].reason' '"ready"'
}

@test "aq-put --at with a bad time exits 65 and puts nothing" {
	local t
	for t in x '' tomorrow now+1 2030-13-01 2030-01-32 2030-01-02T \
	    25:00 12:60 @ @x + +5x +-5s 1h; do
		run --separate-stderr aq-put --at "$t" true
		assert_failure 65
		assert_output ''
		assert_stderr "aq-put: bad time '$t'"
	done
	assert_no_jobs
}

@test "aq-put --at with a bad time refuses a batch whole" {
	printf 'echo a\necho b\n' >batch
	run --separate-stderr aq-put --at soon -b <batch
	assert_failure 65
	assert_output ''
	assert_stderr "aq-put: bad time 'soon'"
	assert_no_jobs
}

@test "aq-put --deadline takes a duration from now or a time" {
	local before after
	before=$(now)
	put_ok 1 --deadline 1h30m true
	put_ok 2 --deadline +2h true
	put_ok 3 --deadline @2000000000 true
	after=$(now)
	run --separate-stderr aq-status --json 1 2 3
	assert_success
	assert_between $(( before + 5400 )) "$(json_time '[0].deadline')" $(( after + 5400 ))
	assert_between $(( before + 7200 )) "$(json_time '[1].deadline')" $(( after + 7200 ))
	assert_json '[2].deadline' '"2033-05-18T03:33:20Z"'
	# a deadline does not hold a job back
	assert_json '[0].reason' '"ready"'
}

@test "aq-put --deadline with a bad value exits 65 and puts nothing" {
	local d
	for d in x '' 5x -5s 2030-13-01; do
		run --separate-stderr aq-put --deadline "$d" true
		assert_failure 65
		assert_output ''
		assert_stderr_match "^aq-put: bad (time|duration) '$d'\$"
	done
	assert_no_jobs
}

# ---- durations ----

@test "durations: 90, 90s, 5m, 2h, 1d, 250ms and 1h30m are understood" {
	local before after d nth=0
	local -A want=([90]=90 [90s]=90 [5m]=300 [2h]=7200 [1d]=86400
	    [250ms]=0 [1h30m]=5400)
	before=$(now)
	for d in 90 90s 5m 2h 1d 250ms 1h30m; do
		nth=$((nth + 1))
		put_ok "$nth" --deadline "$d" true
	done
	after=$(now)
	run --separate-stderr aq-status --json 1 2 3 4 5 6 7
	assert_success
	nth=0
	for d in 90 90s 5m 2h 1d 250ms 1h30m; do
		assert_between $(( before + ${want[$d]} )) \
		    "$(json_time "[$nth].deadline")" $(( after + ${want[$d]} + 1 ))
		nth=$((nth + 1))
	done
}

@test "aq-put --timeout, --retries and --retry-delay are accepted and stored" {
	local d nth=0
	for d in 90 90s 5m 2h 1d 250ms 1h30m; do
		nth=$((nth + 1))
		put_ok "$nth" --timeout "$d" --retry-delay "$d" --retries 3 true
	done
	assert_jobs 7
}

@test "aq-put with a bad duration exits 65 and puts nothing" {
	local d
	for d in x '' 5x -5s s ms '5 m' m5 99999999999999999999s; do
		run --separate-stderr aq-put --timeout "$d" true
		assert_failure 65
		assert_output ''
		assert_stderr "aq-put: bad duration '$d'"
		run --separate-stderr aq-put --retry-delay "$d" true
		assert_failure 65
		assert_output ''
		assert_stderr "aq-put: bad duration '$d'"
	done
	# A timeout of nothing at all is no timeout: refused.
	run --separate-stderr aq-put --timeout 0 true
	assert_failure 65
	assert_stderr "aq-put: bad duration '0'"
	assert_no_jobs
}

@test "aq-put --retries with a bad count exits 65 and puts nothing" {
	local n
	for n in x '' -1 1001 1.5 3x; do
		run --separate-stderr aq-put --retries "$n" true
		assert_failure 65
		assert_output ''
		assert_stderr "aq-put: bad retry count '$n'"
	done
	assert_no_jobs
	put_ok 1 --retries 1000 true
	run --separate-stderr aq-status --json 1
	assert_json '[0].retries' 1000
}

# ---- hold, at-most-once ----

@test "aq-put --hold puts a held job" {
	put_ok 1 --hold true
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"pending"'
	assert_json '[0].reason' '"held"'
}

@test "aq-put --at-most-once puts a ready job" {
	put_ok 1 --at-most-once true
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"pending"'
	assert_json '[0].reason' '"ready"'
}

# ---- batches ----

@test "aq-put -b puts one job per line, skipping blank lines and comments" {
	printf 'echo one\n\n# a comment\necho "two three"\n#\necho 3\n' >batch
	run --separate-stderr aq-put -b <batch
	assert_success
	assert_output $'1\n2\n3'
	assert_jobs 3
	run --separate-stderr aq-status --json 1 2 3
	assert_success
	assert_json '[0].argv[0]' '"/bin/sh"'
	assert_json '[0].argv[1]' '"-c"'
	assert_json '[0].argv[2]' '"echo one"'
	assert_json '[1].argv[2]' '"echo \"two three\""'
	assert_json '[2].argv[2]' '"echo 3"'
	assert_json '[0].name' '"sh"'
	assert_json '[1].name' '"sh"'
	assert_json '[2].queue' '"default"'
}

@test "aq-put -b takes a last line without a newline" {
	printf 'echo a\necho b' >batch
	run --separate-stderr aq-put -b <batch
	assert_success
	assert_output $'1\n2'
	run --separate-stderr aq-status --json 2
	assert_success
	assert_json '[0].argv[2]' '"echo b"'
}

@test "aq-put -b applies the options to every job of the batch" {
	printf 'echo a\necho b\n' >batch
	run --separate-stderr aq-put -q bq -p 7 -n nm --hold -b <batch
	assert_success
	assert_output $'1\n2'
	run --separate-stderr aq-status --json 1 2
	assert_success
	local nth
	for nth in 0 1; do
		assert_json "[$nth].queue" '"bq"'
		assert_json "[$nth].priority" 7
		assert_json "[$nth].name" '"nm"'
		assert_json "[$nth].reason" '"held"'
	done
}

@test "aq-put -b takes well-formed quoting" {
	# each is complete shell: a backslash inside single quotes is plain,
	# an escaped backslash at the end is no continuation
	cat >batch <<-'EOF'
	echo 'a\'
	echo a\\
	echo "it's"
	echo "a\"b"
	echo 'x'"y"'z'
	EOF
	run --separate-stderr aq-put -b <batch
	assert_success
	assert_output $'1\n2\n3\n4\n5'
	run --separate-stderr aq-claim
	assert_success
	claimed_argv
	assert_argv /bin/sh -c "echo 'a\\'"
}

@test "aq-put -b with an unterminated quote on the last line puts nothing (65)" {
	printf 'echo a\necho b\necho c\necho "d\n' >batch
	run --separate-stderr aq-put -b <batch
	assert_failure 65
	assert_output ''
	assert_stderr 'aq-put: line 4: unterminated quote'
	assert_no_jobs
}

@test "aq-put -b with an unterminated quote on the first line puts nothing (65)" {
	printf "echo 'a\necho b\n" >batch
	run --separate-stderr aq-put -b <batch
	assert_failure 65
	assert_output ''
	assert_stderr 'aq-put: line 1: unterminated quote'
	assert_no_jobs
}

@test "aq-put -b counts blank lines and comments in line numbers" {
	printf '# head\n\necho ok\necho "x\n' >batch
	run --separate-stderr aq-put -b <batch
	assert_failure 65
	assert_output ''
	assert_stderr 'aq-put: line 4: unterminated quote'
	assert_no_jobs
}

@test "aq-put -b with a trailing backslash puts nothing (65)" {
	printf 'echo a\necho b \\\necho c\n' >batch
	run --separate-stderr aq-put -b <batch
	assert_failure 65
	assert_output ''
	assert_stderr_match '^aq-put: line 2: '
	assert_no_jobs
}

@test "aq-put -b with a trailing backslash on the last line puts nothing (65)" {
	printf 'echo a\necho b\\' >batch
	run --separate-stderr aq-put -b <batch
	assert_failure 65
	assert_output ''
	assert_stderr_match '^aq-put: line 2: '
	assert_no_jobs
}

@test "aq-put -b with a NUL byte puts nothing (65)" {
	printf 'echo a\necho b\000c\necho d\n' >batch
	run --separate-stderr aq-put -b <batch
	assert_failure 65
	assert_output ''
	assert_stderr_match '^aq-put: line 2: '
	assert_no_jobs
}

@test "a refused batch leaves the jobs already there alone" {
	put_ok 1 true
	printf 'echo a\necho "b\n' >batch
	run --separate-stderr aq-put -b <batch
	assert_failure 65
	assert_output ''
	assert_stderr 'aq-put: line 2: unterminated quote'
	assert_jobs 1
	run --separate-stderr aq-status --json -l
	assert_success
	[ "$(json_len '')" -eq 1 ]
	assert_json '[0].id' 1
}

# ---- the intake ----

@test "a put of a few jobs goes to the intake; the next reader moves it in" {
	put_ok 1 true
	run aq-status 1		# the first put made the environment
	assert_success
	[ "$(stat -c %s "$AQ_HOME/intake")" -eq 64 ]
	put_ok 2 -n two true
	printf 'echo a\necho b\n' | aq-put -b >ids
	[ "$(cat ids)" = "$(printf '3\n4')" ]
	[ "$(stat -c %s "$AQ_HOME/intake")" -gt 64 ]
	run --separate-stderr aq-status --json 2 4
	assert_success
	assert_json '[0].name' '"two"'
	assert_json '[1].argv[2]' '"echo b"'
	[ "$(stat -c %s "$AQ_HOME/intake")" -eq 64 ]
	assert_jobs 4
}

@test "a batch of more than 256 jobs goes straight in; ids go on across both ways" {
	put_ok 1 true
	seq 300 | sed 's/^/echo /' | aq-put -b >ids
	[ "$(head -1 ids)" = 2 ] && [ "$(tail -1 ids)" = 301 ]
	[ "$(stat -c %s "$AQ_HOME/intake")" -eq 64 ]
	put_ok 302 true
	assert_jobs 302
}

@test "a put killed mid-write leaves no half job, and no id is given twice" {
	put_ok 1 true
	put_ok 2 -n two true
	# Half of job 2's record again, as a putter killed mid-write leaves.
	local size
	size=$(stat -c %s "$AQ_HOME/intake")
	head -c $(( (size - 64) / 2 + 64 )) "$AQ_HOME/intake" | tail -c +65 |
	    head -c 50 >>"$AQ_HOME/intake"
	put_ok 3 -n three true
	run --separate-stderr aq-status -l
	assert_success
	assert_equal "$(awk '{print $1}' <<<"$output" | tr '\n' ' ')" '1 2 3 '
	run --separate-stderr aq-status --json 3
	assert_json '[0].name' '"three"'
}

@test "an intake of a newer format is refused (69) and nothing is put" {
	put_ok 1 true
	run aq-status 1
	# Format 2 in the header, its hash (FNV-1a of bytes 0-55) made right.
	perl -e '
		use Math::BigInt;
		open(my $f, "+<", $ARGV[0]) or die;
		read($f, my $b, 64) == 64 or die;
		substr($b, 4, 4) = pack("N", 2);
		my $h = Math::BigInt->from_hex("cbf29ce484222325");
		my $m = Math::BigInt->new(2)->bpow(64);
		for my $c (unpack("C56", $b)) {
			$h = ($h->bxor($c) * Math::BigInt->from_hex("100000001b3"))->bmod($m);
		}
		my $x = substr("0" x 16 . $h->as_hex =~ s/^0x//r, -16);
		substr($b, 56, 8) = pack("H16", $x);
		seek($f, 0, 0);
		print $f $b;
	' "$AQ_HOME/intake"
	run --separate-stderr aq-put true
	assert_failure 69
	assert_stderr_match "^aq-put: environment '.*' has format 2, newer than this aq \\(1\\)$"
	[ "$(stat -c %s "$AQ_HOME/intake")" -eq 64 ]
}
