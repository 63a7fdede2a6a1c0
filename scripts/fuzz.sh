#!/usr/bin/env bash
# Builds one of Canal's libFuzzer targets (Fuzz/) with -sanitize=fuzzer,address and runs it for a
# bounded time. Exits non-zero if the fuzzer finds a crash (or the build fails).
#
#   scripts/fuzz.sh NAME SECONDS [extra libFuzzer flags...]
#
# NAME is the fuzzer product (SelectorFuzzer) or its short name (selector). The growing corpus
# lives in .build-fuzz/corpus/<NAME> (seeded from Fuzz/Corpus/<NAME>), crash reproducers in
# .build-fuzz/artifacts/<NAME>/; rerun one with .build-fuzz/build/release/<NAME> <file>.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 NAME SECONDS [libFuzzer flags...]" >&2
    exit 2
fi
name=$1
seconds=$2
shift 2
if [[ $name != *Fuzzer ]]; then
    name="$(tr '[:lower:]' '[:upper:]' <<<"${name:0:1}")${name:1}Fuzzer"
fi
if ! [[ $seconds =~ ^[0-9]+$ ]]; then
    echo "$0: SECONDS must be a whole number" >&2
    exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/.build-fuzz"
corpus="$work/corpus/$name"
artifacts="$work/artifacts/$name"
mkdir -p "$corpus" "$artifacts"

echo "== building $name (release, -sanitize=fuzzer,address)" >&2
swift build -c release \
    --package-path "$root/Fuzz" \
    --scratch-path "$work/build" \
    -Xswiftc -sanitize=fuzzer,address \
    -Xswiftc -parse-as-library \
    --product "$name" >&2
binary="$work/build/release/$name"

dict_args=()
short=$(tr '[:upper:]' '[:lower:]' <<<"${name%Fuzzer}")
if [[ -f "$root/Fuzz/Dictionaries/$short.dict" ]]; then
    dict_args=("-dict=$root/Fuzz/Dictionaries/$short.dict")
fi
seeds=()
if [[ -d "$root/Fuzz/Corpus/$name" ]]; then
    seeds=("$root/Fuzz/Corpus/$name")
fi

echo "== running $name for ${seconds}s (corpus $corpus)" >&2
set +e
"$binary" \
    -max_total_time="$seconds" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -print_final_stats=1 \
    -artifact_prefix="$artifacts/" \
    "${dict_args[@]}" \
    "$@" \
    "$corpus" "${seeds[@]}" >"$work/$name.log" 2>&1
status=$?
set -e
if [[ $status -ne 0 ]]; then
    tail -n 60 "$work/$name.log" >&2
    echo "== $name FAILED (exit $status); reproducers in $artifacts, full log in $work/$name.log" >&2
    exit "$status"
fi
grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$work/$name.log" >&2 || true
echo "== $name: no crash in ${seconds}s" >&2
