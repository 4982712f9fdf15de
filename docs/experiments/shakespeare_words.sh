#!/usr/bin/env bash
# The word-level split of tiny-shakespeare used in the README: lower-cased,
# `, . ; : ! ?` as tokens of their own, other symbols (apart from ' and -
# inside words) dropped, empty lines dropped; the first 80% of the lines
# train, the next 10% valid, the last 10% test.
#   docs/experiments/shakespeare_words.sh ../shared/corpora/tinyshakespeare.txt OUT_DIR
set -euo pipefail
src=${1:?tinyshakespeare.txt}
out=${2:?output folder}
mkdir -p "$out"
tmp=$(mktemp)
tr 'A-Z' 'a-z' <"$src" \
  | sed -e 's/[^a-z0-9,.;:!?'"'"' -]/ /g' -e 's/\([,.;:!?]\)/ \1 /g' \
  | awk '{ $1 = $1 } NF > 0' >"$tmp"
n=$(wc -l <"$tmp")
a=$((n * 8 / 10))
b=$((n * 9 / 10))
sed -n "1,${a}p" "$tmp" >"$out/train.txt"
sed -n "$((a + 1)),${b}p" "$tmp" >"$out/valid.txt"
sed -n "$((b + 1)),\$p" "$tmp" >"$out/test.txt"
rm -f "$tmp"
wc -w "$out"/*.txt
