#!/usr/bin/env bash
# The README's word-level table for one corpus folder (train.txt, valid.txt,
# test.txt): unigram, KN3, KN5, the no-flag default and the recipe (tied by
# default, --untie for the ± row), each scored on test.txt as it is and with
# --dynamic. Run from the repository after `cargo build --release`:
#   docs/experiments/word_table.sh ../shared/corpora/gutenberg-words out/gw
set -euo pipefail
data=${1:?corpus folder}
out=${2:?output folder}
threads=${THREADS:-2}
R=./target/release/rnnlm
mkdir -p "$out"
for vocab in 50000 10000; do
  for order in 1 3 5; do
    echo "KN$order (max-vocab $vocab): $($R ngram --level word --max-vocab $vocab --order $order \
      --corpus "$data/train.txt" --eval "$data/test.txt" --json)"
  done
done
run() {  # name, flags...
  local name=$1
  shift
  local start=$SECONDS
  $R train --level word --corpus "$data/train.txt" --valid "$data/valid.txt" \
    --threads "$threads" --out "$out/$name.ckpt" --log "$out/$name.csv" "$@" 2>"$out/$name.log"
  echo "$name: $((SECONDS - start)) s"
  echo "$name test: $($R eval --model "$out/$name.ckpt" --corpus "$data/test.txt" --json)"
  # The rate of dynamic evaluation is chosen on valid.txt; 0.02 is the README's.
  for lr in 0.01 0.02 0.03; do
    echo "$name valid --dynamic $lr: $($R eval --model "$out/$name.ckpt" --corpus "$data/valid.txt" --dynamic $lr --json)"
  done
  echo "$name test --dynamic 0.02: $($R eval --model "$out/$name.ckpt" --corpus "$data/test.txt" --dynamic 0.02 --json)"
}
run default
run recipe --max-vocab 10000
run recipe-untied --max-vocab 10000 --untie
