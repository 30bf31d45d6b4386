#!/usr/bin/env bats
# Concurrency: many processes putting and claiming on one environment at
# once.  Every job must be claimed exactly once and none lost.  Loops are
# bounded in count and every command in time.

load helper

@test "4 putters and 4 claimers: 2000 jobs, each claimed exactly once" {
	aq-put true >/dev/null		# create the environment first
	aq-claim --done 1 -x 0 2>/dev/null || true
	run --separate-stderr timeout 20 aq-claim
	assert_success
	run --separate-stderr timeout 20 aq-claim --done 1
	assert_success
	end=$(( $(date +%s) + 600 ))	# a hard bound for every loop
	for p in 1 2 3 4; do
		(
			for n in $(seq 500); do
				timeout 60 aq-put -n "p$p" true || exit 1
			done >"put.$p"
		) &
		putters+=($!)
	done
	for c in 1 2 3 4; do
		(
			idle=0
			while [ "$(date +%s)" -lt "$end" ]; do
				if out=$(timeout 60 aq-claim -w 1); then
					printf '%s\n' "${out%%$'\t'*}"
					idle=0
				else
					[ -e puts.done ] && idle=$((idle + 1))
					[ "$idle" -ge 2 ] && break
				fi
			done >"claim.$c"
		) &
		claimers+=($!)
	done
	for p in "${putters[@]}"; do
		wait "$p"
	done
	touch puts.done
	for c in "${claimers[@]}"; do
		wait "$c"
	done
	cat put.1 put.2 put.3 put.4 | sort >put.all
	cat claim.1 claim.2 claim.3 claim.4 | sort >claim.all
	run wc -l <put.all
	assert_output 2000
	run uniq -d put.all
	assert_output ''
	run uniq -d claim.all
	assert_output ''
	run diff put.all claim.all
	assert_success
	run aq-status --json
	assert_success
	assert_json '.queues.default.active' 2000
	assert_json '.queues.default.pending' 0
}

@test "8 first puts at once into a home that does not exist yet" {
	for n in 1 2 3 4 5 6 7 8; do
		timeout 60 aq-put true >"id.$n" 2>"err.$n" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	run cat err.1 err.2 err.3 err.4 err.5 err.6 err.7 err.8
	assert_output ''
	run sort -n id.1 id.2 id.3 id.4 id.5 id.6 id.7 id.8
	assert_output "$(seq 8)"
	run aq-status --json
	assert_success
	assert_json '.recoveries' 0
}
