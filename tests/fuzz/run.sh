#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run the image fuzzer for FUZZ_SECONDS (300 by default) over the committed
# corpus (tests/fuzz/corpus, read only) and what it finds (build/fuzz/corpus).
# A crash, sanitizer report or input slower than 10 s fails the run; the
# input that did it is left in build/fuzz/ (crash-*, timeout-*): make it a
# regression input in tests/fuzz/corpus once fixed.
#
# usage: tests/fuzz/run.sh FUZZER
set -u
fuzzer=$1
cd "$(dirname "$0")/../.."
out=build/fuzz
mkdir -p "$out/corpus"
# the target writes images under /tmp: removed whatever happens
trap 'rm -rf /tmp/appshot-fuzz-*' EXIT
"$fuzzer" -max_total_time="${FUZZ_SECONDS:-300}" -timeout=10 -rss_limit_mb=4096 \
	-close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$out/" \
	"$out/corpus" tests/fuzz/corpus
