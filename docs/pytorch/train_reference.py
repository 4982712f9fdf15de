"""The PyTorch reference trainer behind the README's side-by-side curves.

    python3 train_reference.py --vocab EXPORT_DIR/vocab.json --train train.txt --valid valid.txt \
        --embed 200 --hidden 200 --batch 20 --seq-len 35 --lr 0.002 --clip 5 --dropout 0.3 \
        --epochs 3 --threads 2

It trains what `rnnlm train --level word --classes 0 --init-scheme small` trains, on
the same token stream in the same order, and prints one line per epoch:
`epoch N valid_ppl X seconds S`. What is the same as rnnlm:

- tokens: whitespace-separated words, `<eos>` at each line end, words outside
  the vocabulary as `<unk>`; the vocabulary (ids and all) is rnnlm's own, read
  from an `rnnlm export` folder of a model trained on the same text;
- data order: the stream cut into B contiguous streams, chunks of T steps,
  h carried across chunks and reset to 0 at each epoch (src/data/batches.rs);
- the model: nn.Embedding, nn.RNN(tanh), nn.Linear, the full softmax;
  dropout on the embedding and on h where it enters the output layer;
- the initialization of `--init-scheme small`: E, W_y ~ U(-0.1, 0.1), b_y = 0;
  nn.RNN's own U(-1/sqrt(H), 1/sqrt(H)) for W_x, W_h (its two biases keep
  PyTorch's default draw: rnnlm's single b_h starts at 0, the one difference);
- the loss (mean nats over B*T), Adam (0.9, 0.999, 1e-8), clipping by global norm;
- validation as rnnlm's `validate`: the text as 16 consecutive pieces side by
  side, chunks of 32, each piece from h = 0 (src/train/evaluate.rs);
- the schedule: rnnlm's `mikolov` (reject a worse epoch and restore its
  weights and Adam state; halve from the first gain under 0.3%; stop at a gain
  under 0.03% while halving).
"""
import argparse
import copy
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def tokens(path, ids):
    unk = ids["<unk>"]
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            out.extend(ids.get(w, unk) for w in line.split())
            out.append(ids["<eos>"])
    return torch.tensor(out, dtype=torch.long)


class Model(nn.Module):
    def __init__(self, V, D, H, dropout):
        super().__init__()
        self.embed = nn.Embedding(V, D)
        self.rnn = nn.RNN(D, H, nonlinearity="tanh")
        self.out = nn.Linear(H, V)
        self.drop = nn.Dropout(dropout)
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        nn.init.uniform_(self.out.weight, -0.1, 0.1)
        nn.init.zeros_(self.out.bias)

    def forward(self, x, h):  # x [T, B], h [1, B, H]
        e = self.drop(self.embed(x))
        y, h = self.rnn(e, h)
        return self.out(self.drop(y)), h


def validate(model, ids, H, streams=16, chunk=32):
    model.eval()
    n = len(ids) - 1
    streams = min(streams, n)
    length = n // streams
    total = 0.0
    with torch.no_grad():
        h = torch.zeros(1, streams, H)
        starts = torch.arange(streams) * length
        for s in range(0, length, chunk):
            steps = min(chunk, length - s)
            idx = starts[None, :] + s + torch.arange(steps)[:, None]  # [T, B]
            z, h = model(ids[idx], h)
            total += F.cross_entropy(z.reshape(-1, z.shape[-1]), ids[idx + 1].reshape(-1), reduction="sum").item()
        done = streams * length
        if done < n:
            x = ids[done:n][:, None]
            z, _ = model(x, h[:, streams - 1 : streams].contiguous())
            total += F.cross_entropy(z.reshape(-1, z.shape[-1]), ids[done + 1 : n + 1], reduction="sum").item()
    model.train()
    return total / n


def main():
    a = argparse.ArgumentParser()
    for flag, kind, default in [
        ("--vocab", str, None), ("--train", str, None), ("--valid", str, None),
        ("--embed", int, 200), ("--hidden", int, 200), ("--batch", int, 20), ("--seq-len", int, 35),
        ("--lr", float, 2e-3), ("--clip", float, 5.0), ("--dropout", float, 0.3), ("--epochs", int, 3),
        ("--threads", int, 2), ("--seed", int, 1), ("--min-improvement", float, 0.003),
    ]:
        a.add_argument(flag, type=kind, default=default, required=default is None)
    args = a.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    vocab = json.load(open(args.vocab, encoding="utf-8"))
    ids = {w: i for i, w in enumerate(vocab)}
    train, valid = tokens(args.train, ids), tokens(args.valid, ids)
    V, H, B, T = len(vocab), args.hidden, args.batch, args.seq_len
    model = Model(V, args.embed, H, args.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    steps = (len(train) - 1) // B  # src/data/batches.rs
    best, halving, saved = math.inf, False, None
    for epoch in range(1, args.epochs + 1):
        clock = time.time()
        h = torch.zeros(1, B, H)
        for t0 in range(0, steps, T):
            t_len = min(T, steps - t0)
            idx = (torch.arange(B) * steps)[None, :] + t0 + torch.arange(t_len)[:, None]  # [T, B]
            z, h = model(train[idx], h.detach())
            loss = F.cross_entropy(z.reshape(-1, V), train[idx + 1].reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
        nats = validate(model, valid, H)
        print(f"epoch {epoch} valid_ppl {math.exp(nats):.3f} seconds {time.time() - clock:.0f}", flush=True)
        # rnnlm's mikolov schedule (src/train/schedule.rs).
        rejected = nats > best
        small = not nats < best * (1 - args.min_improvement)
        tiny = rejected or not nats < best * (1 - 0.1 * args.min_improvement)
        if rejected:
            model.load_state_dict(saved[0])
            opt.load_state_dict(saved[1])
        else:
            best = nats
            saved = (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()))
        if tiny and halving:
            break
        halving |= small
        if halving:
            for g in opt.param_groups:
                g["lr"] *= 0.5


if __name__ == "__main__":
    main()
