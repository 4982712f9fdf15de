#!/usr/bin/env bash
# The Korean split used in the README: korean-stories.txt's stories are
# separated by blank lines; the first 25 train, the last 6 are held out.
#   docs/experiments/korean_split.sh ../shared/corpora/korean-stories.txt OUT_DIR
set -euo pipefail
src=${1:?korean-stories.txt}
out=${2:?output folder}
mkdir -p "$out"
awk -v out="$out" 'BEGIN { RS = ""; ORS = "\n\n" }
  { print > (NR <= 25 ? out "/train.txt" : out "/held-out.txt") }' "$src"
wc -m "$out"/*.txt
