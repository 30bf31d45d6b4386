# t/helper.bash: loaded by every command test (`load helper`).
#
# Each test gets a fresh environment home, $AQ_HOME, under its own
# $BATS_TEST_TMPDIR, and runs in that directory.  The programs come from
# PATH (make check puts the build's bin/ first).  JSON is read with the
# small awk parser below, so the tests need neither jq nor python.

bats_require_minimum_version 1.5.0

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	unset AQ_UUID XDG_STATE_HOME
	export AQ_HOME="$BATS_TEST_TMPDIR/aq"
	cd "$BATS_TEST_TMPDIR" || return 1
}

# Each test's scratch directory is emptied after it (an environment takes
# some 30 MB); set AQ_TEST_KEEP=1 to keep them for a look.
teardown() {
	# Background loops a failed test left behind must not outlive it.
	local p
	for p in ${putters[@]+"${putters[@]}"} ${claimers[@]+"${claimers[@]}"}; do
		pkill -P "$p" 2>/dev/null
		kill "$p" 2>/dev/null
	done
	cd / || return 0
	if [ -z "${AQ_TEST_KEEP:-}" ]; then
		chmod -R u+rwx "$BATS_TEST_TMPDIR" 2>/dev/null
		rm -rf "${BATS_TEST_TMPDIR:?}"/* 2>/dev/null
	fi
	return 0
}

# Note: bats 1.8 `run` clobbers a variable named i (bats_any_in leaks it),
# so the tests never keep a counter called i across a run.

# ---- JSON ----

# json_flat: read one JSON document on stdin and print one line per
# scalar, `PATH=VALUE`, where PATH is jq-like (`.queues.default.pending`,
# `[0].argv[1]`) and VALUE is the JSON text of the value (strings keep
# their quotes and escapes).  Empty objects and arrays print `PATH={}` and
# `PATH=[]`.  Anything that is not exactly one JSON document is an error
# (exit 1, a message on stderr).
json_flat() {
	awk '
	function perr(msg) {
		printf "json_flat: %s at offset %d\n", msg, pos > "/dev/stderr"
		failed = 1
		exit 1
	}
	function ws(   c) {
		while (pos <= n) {
			c = substr(s, pos, 1)
			if (c == " " || c == "\t" || c == "\n" || c == "\r")
				pos++
			else
				break
		}
	}
	function str(   start, c) {
		if (substr(s, pos, 1) != "\"")
			perr("string expected")
		pos++
		start = pos
		while (pos <= n) {
			c = substr(s, pos, 1)
			if (c == "\\")
				pos += 2
			else if (c == "\"") {
				pos++
				return substr(s, start, pos - 1 - start)
			} else if (c == "\n")
				perr("raw newline in a string")
			else
				pos++
		}
		perr("unterminated string")
	}
	function val(path,   c, k, i, start) {
		ws()
		if (pos > n)
			perr("value expected")
		c = substr(s, pos, 1)
		if (c == "{") {
			pos++
			ws()
			if (substr(s, pos, 1) == "}") {
				pos++
				print path "={}"
				return
			}
			for (;;) {
				ws()
				k = str()
				ws()
				if (substr(s, pos, 1) != ":")
					perr("\":\" expected")
				pos++
				val(path "." k)
				ws()
				c = substr(s, pos, 1)
				pos++
				if (c == "}")
					return
				if (c != ",")
					perr("\",\" or \"}\" expected")
			}
		}
		if (c == "[") {
			pos++
			ws()
			if (substr(s, pos, 1) == "]") {
				pos++
				print path "=[]"
				return
			}
			for (i = 0; ; i++) {
				val(path "[" i "]")
				ws()
				c = substr(s, pos, 1)
				pos++
				if (c == "]")
					return
				if (c != ",")
					perr("\",\" or \"]\" expected")
			}
		}
		if (c == "\"") {
			k = str()
			print path "=\"" k "\""
			return
		}
		start = pos
		while (pos <= n && index(",]}: \t\r\n", substr(s, pos, 1)) == 0)
			pos++
		k = substr(s, start, pos - start)
		if (k !~ /^(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?|true|false|null)$/)
			perr("bad literal \"" k "\"")
		print path "=" k
	}
	{ s = s $0 "\n" }
	END {
		if (failed)
			exit 1
		n = length(s)
		pos = 1
		val("")
		ws()
		if (pos <= n)
			perr("text after the JSON document")
	}'
}

# json_get PATH: the JSON text of the value at PATH in $output (see
# json_flat).  Fails if there is none.
json_get() {
	printf '%s\n' "$output" | json_flat |
	    awk -v p="$1=" 'index($0, p) == 1 { print substr($0, length(p) + 1); found = 1; exit }
		END { exit !found }'
}

# json_has PATH: true if $output has a value (scalar or not) at PATH.
json_has() {
	printf '%s\n' "$output" | json_flat |
	    awk -v p="$1" '
		index($0, p "=") == 1 || index($0, p ".") == 1 || index($0, p "[") == 1 { found = 1; exit }
		END { exit !found }'
}

# json_len PATH: the number of elements of the array at PATH in $output
# (0 for an empty array; fails if PATH is not an array).
json_len() {
	printf '%s\n' "$output" | json_flat |
	    awk -v p="$1" '
		$0 == p "=[]" { found = 1; next }
		index($0, p "[") == 1 {
			rest = substr($0, length(p) + 2)
			i = substr(rest, 1, index(rest, "]") - 1) + 0
			if (i + 1 > len) len = i + 1
			found = 1
		}
		END { if (!found) exit 1; print len + 0 }'
}

# assert_json PATH VALUE: the value at PATH in $output is exactly the JSON
# text VALUE (strings with their quotes: assert_json '[0].state' '"done"').
assert_json() {
	local path=$1 want=$2 got
	if ! got=$(json_get "$path"); then
		batslib_print_kv_single_or_multi 8 path "$path" output "$output" |
		    batslib_decorate 'JSON value missing' | fail
		return 1
	fi
	if [[ "$got" != "$want" ]]; then
		batslib_print_kv_single_or_multi 8 path "$path" expected "$want" \
		    actual "$got" |
		    batslib_decorate 'JSON value differs' | fail
		return 1
	fi
}

# assert_json_match PATH REGEX: the JSON text at PATH matches the ERE.
assert_json_match() {
	local path=$1 re=$2 got
	if ! got=$(json_get "$path"); then
		batslib_print_kv_single_or_multi 8 path "$path" output "$output" |
		    batslib_decorate 'JSON value missing' | fail
		return 1
	fi
	if ! [[ "$got" =~ $re ]]; then
		batslib_print_kv_single_or_multi 8 path "$path" regexp "$re" \
		    actual "$got" |
		    batslib_decorate 'JSON value does not match' | fail
		return 1
	fi
}

# refute_json PATH: $output has no value at PATH.
refute_json() {
	if json_has "$1"; then
		batslib_print_kv_single_or_multi 8 path "$1" output "$output" |
		    batslib_decorate 'JSON value present, expected none' | fail
		return 1
	fi
}

# An RFC 3339 UTC time as JSON text, and its value as seconds.
RFC3339_JSON='^"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"$'
json_time() {	# PATH: the time at PATH in $output, in seconds since the epoch
	local t
	t=$(json_get "$1") || return 1
	t=${t#\"}
	t=${t%\"}
	date -u -d "$t" +%s
}

# ---- counting jobs ----

# count_jobs [QUEUE [FIELD...]]: sum of the overview counts FIELD (default:
# pending active done) of QUEUE (default: every queue), from
# `aq-status --json`.  Prints 0 when there is no environment (69).
# Fails, with the reason on stderr, if aq-status fails otherwise.
count_jobs() {
	local queue=${1:-} out rc
	[ $# -gt 0 ] && shift
	local fields="${*:-pending active done}"
	out=$(aq-status --json 2>&1) && rc=0 || rc=$?
	if [ "$rc" -eq 69 ]; then
		echo 0
		return 0
	fi
	if [ "$rc" -ne 0 ]; then
		echo "count_jobs: aq-status --json exited $rc: $out" >&2
		return 1
	fi
	printf '%s\n' "$out" | json_flat | awk -v q="$queue" -v f=" $fields " '
		index($0, ".queues.") == 1 {
			eq = index($0, "=")
			path = substr($0, 9, eq - 9)	# QUEUE.FIELD
			val = substr($0, eq + 1)
			dot = 0
			for (i = length(path); i > 0; i--)
				if (substr(path, i, 1) == ".") { dot = i; break }
			if (dot == 0) next
			name = substr(path, 1, dot - 1)
			field = substr(path, dot + 1)
			if (q != "" && name != q) next
			if (index(f, " " field " ")) sum += val
		}
		END { print sum + 0 }'
}

# assert_no_jobs: the overview shows no job at all, or there is not even an
# environment.  Used after every refused aq-put.
assert_no_jobs() {
	local n
	n=$(count_jobs) || { fail "cannot count jobs"; return 1; }
	if [ "$n" -ne 0 ]; then
		fail "expected no jobs, found $n: $(aq-status --json 2>&1)"
		return 1
	fi
}

# assert_jobs N [QUEUE]: exactly N jobs (in QUEUE).
assert_jobs() {
	local n
	n=$(count_jobs "${2:-}") || { fail "cannot count jobs"; return 1; }
	if [ "$n" -ne "$1" ]; then
		fail "expected $1 jobs${2:+ in queue $2}, found $n: $(aq-status --json 2>&1)"
		return 1
	fi
}

# ---- steps that must succeed ----

# put_ok ID ARGS...: aq-put ARGS succeeds and prints exactly ID.
put_ok() {
	local want=$1
	shift
	run --separate-stderr timeout 20 aq-put "$@"
	assert_success
	assert_output "$want"
}

# claim_ok ID [ARGS...]: aq-claim ARGS succeeds and claims job ID.
claim_ok() {
	local want=$1
	shift
	run --separate-stderr timeout 20 aq-claim "$@"
	assert_success
	assert_output --regexp "^$want"$'\t'
}

# claim_none [ARGS...]: aq-claim ARGS finds nothing: exit 1, no output.
claim_none() {
	run --separate-stderr timeout 20 aq-claim "$@"
	assert_failure 1
	assert_output ''
}

# claimed_argv: split the `ID<TAB>command line` that aq-claim printed (in
# $output) into CLAIM_ID and the array CLAIM_ARGV, by letting the shell
# read the quoted command line.
claimed_argv() {
	CLAIM_ID=${output%%$'\t'*}
	local cmd=${output#*$'\t'}
	eval "CLAIM_ARGV=($cmd)"
}

# assert_argv WANT...: CLAIM_ARGV is exactly WANT...
assert_argv() {
	local want=("$@") i
	if [ "${#CLAIM_ARGV[@]}" -ne "${#want[@]}" ]; then
		fail "argv has ${#CLAIM_ARGV[@]} words, expected ${#want[@]}: $(printf '<%s> ' "${CLAIM_ARGV[@]}")"
		return 1
	fi
	for i in "${!want[@]}"; do
		if [ "${CLAIM_ARGV[$i]}" != "${want[$i]}" ]; then
			batslib_print_kv_single_or_multi 8 word "$i" \
			    expected "${want[$i]}" actual "${CLAIM_ARGV[$i]}" |
			    batslib_decorate 'argv word differs' | fail
			return 1
		fi
	done
}

# ---- usage ----

# The usage, as PROG -h prints it.
usage_text() {
	"$1" -h 2>/dev/null
}

# help_and_version_ok PROG: -h prints the usage on stdout ("usage: PROG
# ..." first) and exits 0, --help prints the same; -V and --version print
# "PROG (aq) VERSION"; nothing goes to stderr, and no home is made.
help_and_version_ok() {
	local usage opt version
	version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' \
	    "$AQ_BUILDDIR/config.h")
	run --separate-stderr "$1" -h
	assert_success
	assert_line --index 0 --regexp "^usage: $1 "
	assert_equal "$stderr" ''
	usage=$output
	run --separate-stderr "$1" --help
	assert_success
	assert_output "$usage"
	assert_equal "$stderr" ''
	for opt in -V --version; do
		run --separate-stderr "$1" "$opt"
		assert_success
		assert_output "$1 (aq) $version"
		assert_equal "$stderr" ''
	done
	[ ! -e "$AQ_HOME" ]
}

# assert_usage_error PROG: after `run --separate-stderr PROG bad...`: exit
# 64, nothing on stdout, the usage (all that PROG -h prints) on stderr.
assert_usage_error() {
	local u
	assert_failure 64
	assert_output ''
	u=$(usage_text "$1")
	if [ -z "$u" ]; then
		fail "$1 -h printed no usage"
		return 1
	fi
	if [[ "$stderr" != *"$u"* ]]; then
		batslib_print_kv_single_or_multi 8 usage "$u" stderr "$stderr" |
		    batslib_decorate 'usage not on stderr' | fail
		return 1
	fi
}

# assert_stderr_line / assert_stderr_match: check $stderr (of run
# --separate-stderr) for an exact line, or an ERE.
assert_stderr() {
	if [[ "$stderr" != "$1" ]]; then
		batslib_print_kv_single_or_multi 8 expected "$1" stderr "$stderr" |
		    batslib_decorate 'stderr differs' | fail
		return 1
	fi
}
assert_stderr_match() {
	if ! [[ "$stderr" =~ $1 ]]; then
		batslib_print_kv_single_or_multi 8 regexp "$1" stderr "$stderr" |
		    batslib_decorate 'stderr does not match' | fail
		return 1
	fi
}

# ---- time ----

now() { date +%s; }
now_ms() { date +%s%3N; }

# assert_between LOW VALUE HIGH (integers)
assert_between() {
	if [ "$2" -lt "$1" ] || [ "$2" -gt "$3" ]; then
		fail "expected $1 <= $2 <= $3"
		return 1
	fi
}

# ---- outcomes ----

# outcome_of ID: the job's outcome as JSON text ("ok"), or its state.
outcome_of() {
	local out
	out=$(aq-status --json "$1") || return 1
	case $out in
	*'"state":"done"'*) out=${out#*'"outcome":"'}; echo "${out%%\"*}" ;;
	*) out=${out#*'"state":"'}; echo "${out%%\"*}" ;;
	esac
}

# outcomes_are ID=OUTCOME...: each job's outcome (or state) is that.
outcomes_are() {
	local pair got
	for pair in "$@"; do
		got=$(outcome_of "${pair%%=*}")
		if [ "$got" != "${pair#*=}" ]; then
			fail "job ${pair%%=*}: expected ${pair#*=}, got $got"
			return 1
		fi
	done
}
