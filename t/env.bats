#!/usr/bin/env bats
# t/env.bats: the environment home, as doc/cli.md and DESIGN.md describe
# it: where it is (-d, $AQ_HOME, $XDG_STATE_HOME, $HOME), how it is
# created, and the homes that are refused.

load helper

# assert_stderr_names PROG PATH: after a refusal, stderr is a `PROG: `
# message that names PATH.
assert_stderr_names() {
	assert_stderr_match "^$1: "
	if [[ "$stderr" != *"$2"* ]]; then
		batslib_print_kv_single_or_multi 8 path "$2" stderr "$stderr" |
		    batslib_decorate 'the message does not name the home' | fail
		return 1
	fi
}

# ---- where the home is ----

@test "aq-put creates the home on first use, mode 0700" {
	[ ! -e "$AQ_HOME" ]
	put_ok 1 true
	[ -d "$AQ_HOME" ]
	run stat -c %a "$AQ_HOME"
	assert_output 700
	assert_jobs 1
}

@test "the home is created 0700 whatever the umask" {
	umask 000
	put_ok 1 -d "$BATS_TEST_TMPDIR/h0" true
	umask 022
	put_ok 1 -d "$BATS_TEST_TMPDIR/h22" true
	run stat -c %a "$BATS_TEST_TMPDIR/h0" "$BATS_TEST_TMPDIR/h22"
	assert_output $'700\n700'
}

@test "every program honours -d over \$AQ_HOME" {
	local d="$BATS_TEST_TMPDIR/other-home"
	put_ok 1 -d "$d" echo there
	[ -d "$d" ]
	[ ! -e "$AQ_HOME" ]
	run --separate-stderr aq-status -d "$d" --json 1
	assert_success
	assert_json '[0].argv[1]' '"there"'
	run --separate-stderr aq-status --json 1
	assert_failure 69
	claim_ok 1 -d "$d"
	run --separate-stderr aq-claim -d "$d" --done 1
	assert_success
	run --separate-stderr aq-status -d "$d" --json 1
	assert_success
	assert_json '[0].outcome' '"ok"'
	[ ! -e "$AQ_HOME" ]
}

@test "every program uses \$AQ_HOME without -d" {
	local d="$BATS_TEST_TMPDIR/env-home"
	AQ_HOME=$d put_ok 1 echo here
	[ -d "$d" ]
	AQ_HOME=$d claim_ok 1
	AQ_HOME=$d run --separate-stderr aq-claim --done 1 -x 2
	assert_success
	AQ_HOME=$d run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].outcome' '"failed"'
	run --separate-stderr aq-status -d "$d" --json 1
	assert_success
	assert_json '[0].exit' 2
}

@test "without \$AQ_HOME the home is \$XDG_STATE_HOME/aq" {
	mkdir xdg
	unset AQ_HOME
	XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdg" put_ok 1 echo xdg
	[ -d "$BATS_TEST_TMPDIR/xdg/aq" ]
	run --separate-stderr aq-status -d "$BATS_TEST_TMPDIR/xdg/aq" --json 1
	assert_success
	assert_json '[0].argv[1]' '"xdg"'
	XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdg" claim_ok 1
}

@test "without \$AQ_HOME and \$XDG_STATE_HOME the home is \$HOME/.local/state/aq" {
	mkdir -p home/.local/state
	unset AQ_HOME XDG_STATE_HOME
	HOME="$BATS_TEST_TMPDIR/home" put_ok 1 echo home
	[ -d "$BATS_TEST_TMPDIR/home/.local/state/aq" ]
	run --separate-stderr aq-status -d "$BATS_TEST_TMPDIR/home/.local/state/aq" --json 1
	assert_success
	assert_json '[0].argv[1]' '"home"'
	HOME="$BATS_TEST_TMPDIR/home" claim_ok 1
}

@test "an empty \$XDG_STATE_HOME counts as unset" {
	mkdir -p home/.local/state
	unset AQ_HOME
	XDG_STATE_HOME= HOME="$BATS_TEST_TMPDIR/home" put_ok 1 true
	[ -d "$BATS_TEST_TMPDIR/home/.local/state/aq" ]
	HOME="$BATS_TEST_TMPDIR/home" XDG_STATE_HOME= run --separate-stderr aq-status --json
	assert_success
	assert_json '.queues.default.pending' 1
}

@test "\$AQ_HOME wins over \$XDG_STATE_HOME" {
	mkdir xdg
	XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdg" put_ok 1 true
	[ -d "$AQ_HOME" ]
	[ ! -e "$BATS_TEST_TMPDIR/xdg/aq" ]
}

@test "-d takes a relative directory" {
	put_ok 1 -d rel true
	[ -d "$BATS_TEST_TMPDIR/rel" ]
	run --separate-stderr aq-status -d "$BATS_TEST_TMPDIR/rel" --json
	assert_success
	assert_json '.queues.default.pending' 1
}

@test "jobs persist from one program to the next" {
	put_ok 1 echo a
	put_ok 2 echo b
	claim_ok 1
	put_ok 3 echo c
	run --separate-stderr aq-status --json
	assert_success
	assert_json '.queues.default.pending' 2
	assert_json '.queues.default.active' 1
}

# ---- shared homes ----

@test "in a setgid group-writable home files are created 0660" {
	mkdir shared
	chmod 2770 shared
	umask 022
	put_ok 1 -d "$BATS_TEST_TMPDIR/shared" true
	run --separate-stderr aq-status -d "$BATS_TEST_TMPDIR/shared" --json
	assert_success
	assert_json '.queues.default.pending' 1
	run find shared -type f -printf '%m %p\n'
	assert_success
	[ "${#lines[@]}" -gt 0 ]
	# every file the programs created is rw for owner and group only
	run find shared -type f ! -perm 0660 -printf '%m %p\n'
	assert_success
	assert_output ''
}

# ---- refused homes ----

@test "a world-writable home is refused (77) by aq-put, nothing put" {
	mkdir -m 0777 open
	[ "$(stat -c %a open)" = 777 ]
	run --separate-stderr aq-put -d "$BATS_TEST_TMPDIR/open" true
	assert_failure 77
	assert_output ''
	assert_stderr_names aq-put "$BATS_TEST_TMPDIR/open"
	chmod 0700 open
	AQ_HOME="$BATS_TEST_TMPDIR/open" assert_no_jobs
}

@test "a sticky world-writable home is refused (77) too" {
	mkdir -m 1777 open
	run --separate-stderr aq-put -d "$BATS_TEST_TMPDIR/open" true
	assert_failure 77
	assert_output ''
	assert_stderr_names aq-put "$BATS_TEST_TMPDIR/open"
	chmod 0700 open
	AQ_HOME="$BATS_TEST_TMPDIR/open" assert_no_jobs
}

@test "an environment made world-writable is refused (77) by every program" {
	put_ok 1 true
	chmod 0777 "$AQ_HOME"
	run --separate-stderr aq-put true
	assert_failure 77
	assert_output ''
	assert_stderr_names aq-put "$AQ_HOME"
	run --separate-stderr aq-claim
	assert_failure 77
	assert_output ''
	assert_stderr_names aq-claim "$AQ_HOME"
	run --separate-stderr aq-status
	assert_failure 77
	assert_output ''
	assert_stderr_names aq-status "$AQ_HOME"
	run --separate-stderr aq-status 1
	assert_failure 77
	assert_output ''
	chmod 0700 "$AQ_HOME"
	run --separate-stderr aq-status --json 1
	assert_success
	assert_json '[0].state' '"pending"'
	assert_jobs 1
}

@test "a home that is a regular file is refused (69 or 73), naming it" {
	echo data >homefile
	run --separate-stderr aq-put -d "$BATS_TEST_TMPDIR/homefile" true
	[[ "$status" -eq 69 || "$status" -eq 73 ]]
	assert_output ''
	assert_stderr_names aq-put "$BATS_TEST_TMPDIR/homefile"
	run --separate-stderr aq-status -d "$BATS_TEST_TMPDIR/homefile"
	assert_failure 69
	assert_output ''
	assert_stderr_names aq-status "$BATS_TEST_TMPDIR/homefile"
	run --separate-stderr aq-claim -d "$BATS_TEST_TMPDIR/homefile"
	[[ "$status" -eq 69 || "$status" -eq 73 ]]
	assert_output ''
	run cat homefile
	assert_output data
}

@test "a home under a regular file cannot be created (69 or 73), naming it" {
	echo data >homefile
	run --separate-stderr aq-put -d "$BATS_TEST_TMPDIR/homefile/aq" true
	[[ "$status" -eq 69 || "$status" -eq 73 ]]
	assert_output ''
	assert_stderr_names aq-put "$BATS_TEST_TMPDIR/homefile/aq"
	run cat homefile
	assert_output data
}

@test "a home in a directory without write permission is refused (73 or 77)" {
	if [ "$(id -u)" -eq 0 ]; then
		skip 'root ignores directory permissions'
	fi
	mkdir locked
	chmod 0555 locked
	run --separate-stderr aq-put -d "$BATS_TEST_TMPDIR/locked/aq" true
	chmod 0755 locked
	[[ "$status" -eq 73 || "$status" -eq 77 ]]
	assert_output ''
	assert_stderr_names aq-put "$BATS_TEST_TMPDIR/locked/aq"
	[ ! -e locked/aq ]
}

@test "an unreadable home is refused (77)" {
	if [ "$(id -u)" -eq 0 ]; then
		skip 'root ignores directory permissions'
	fi
	put_ok 1 true
	chmod 0300 "$AQ_HOME"
	run --separate-stderr aq-status
	chmod 0700 "$AQ_HOME"
	assert_failure 77
	assert_output ''
	assert_stderr_names aq-status "$AQ_HOME"
}
