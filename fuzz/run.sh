#!/bin/sh
# Runs libFuzzer targets (make fuzz): each for FUZZ_SECONDS on a scratch
# copy of fuzz/corpus/TARGET plus fuzz/regressions/TARGET under
# build/fuzz/work/TARGET, so the committed corpus never grows by itself.
# Prints executions and coverage per target; fails if any target found a
# crash, leaving the input in build/fuzz/work/TARGET/crashes/.
set -u
cd "$(dirname "$0")/.."

B=build/fuzz
secs=${FUZZ_SECONDS:-60}
failed=
report=

for t in "$@"; do
    w=$B/work/$t
    rm -rf "$w"
    mkdir -p "$w/corpus" "$w/crashes" "$w/tmp"
    for d in fuzz/corpus/$t fuzz/regressions/$t; do
        [ -d "$d" ] && find "$d" -maxdepth 1 -type f ! -name '.*' \
            -exec cp {} "$w/corpus/" \;
    done
    seeds=$(ls "$w/corpus" | wc -l)

    # inputs a little past each target's limits: hosts over
    # BEIAN_HOST_MAX, documents and files of a few pages
    case $t in
        host)     opts="-max_len=512" ;;
        records)  opts="-max_len=16384" ;;
        *)        opts="-max_len=16384" ;;
    esac
    [ -f "fuzz/$t.dict" ] && opts="$opts -dict=fuzz/$t.dict"

    echo "fuzz: $t for ${secs}s ($seeds seeds), log in $w/log"
    start=$(date +%s)
    # the targets write their temp files under TMPDIR: a crash skips the
    # cleanup, and then they stay in build/fuzz
    TMPDIR="$PWD/$w/tmp" \
    ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=1" \
    UBSAN_OPTIONS="print_stacktrace=1" \
        "$B/fuzz-$t" $opts -max_total_time="$secs" -timeout=10 \
            -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$w/crashes/" "$w/corpus" >"$w/log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$w/log")
    cov=$(grep -E '^#[0-9]+' "$w/log" | tail -1 \
          | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
    line="$t: ${execs:-?} execs (${rate:-?}/s) in ${took}s, ${cov:-cov ?}, corpus $seeds -> $(ls "$w/corpus" | wc -l)"

    if [ "$rc" -ne 0 ] || [ -n "$(ls "$w/crashes")" ]; then
        failed="$failed $t"
        line="$line, FAILED (exit $rc): $(ls "$w/crashes" | tr '\n' ' ')"
        grep -E -A30 'ERROR: |runtime error:|invariant|deadly signal|timeout' \
            "$w/log" | head -60
    fi
    echo "$line"
    report="$report$line
"
done

printf '\nfuzz summary\n%s' "$report"
if [ -n "$failed" ]; then
    echo "fuzz: crashes in:$failed; reproduce with build/fuzz/fuzz-TARGET FILE," \
         "keep the fixed input in fuzz/regressions/TARGET/" >&2
    exit 1
fi
