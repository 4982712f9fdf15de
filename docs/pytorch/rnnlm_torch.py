"""An `rnnlm export` folder in PyTorch, and back.

    python3 rnnlm_torch.py eval EXPORT_DIR TEXT      prints: tokens nats_per_token perplexity
    python3 rnnlm_torch.py back EXPORT_DIR OUT_DIR   loads the modules, writes them as a folder
                                                     for `rnnlm import` (nn.RNN's two biases summed)

rnnlm's equations (docs/bptt.md) and the modules that compute them:

    e_t = E[x_t]                          nn.Embedding(V, D).weight           = E    [V, D]
    h_t = tanh(W_x e_t + W_h h_{t-1}      nn.RNN(D, H, nonlinearity="tanh"):
               + b_h)                        weight_ih_l0 = W_x [H, D], weight_hh_l0 = W_h [H, H],
                                             bias_ih_l0 = b_h, bias_hh_l0 = 0 (rnnlm has one bias)
    z_t = W_y h_t + b_y                   nn.Linear(H, V): weight = W_y [V, H], bias = b_y
    classed models, P(w|h) =              nn.Linear(H, C): weight = W_c [C, H], bias = b_c,
      softmax(W_c h + b_c)[c(w)] ·        class_of [V] (int32 in the folder): the class of each id
      softmax over c(w)'s words of z      (see `nll`; nn.AdaptiveLogSoftmaxWithLoss is another model)

Tokens as `rnnlm eval` reads text: char level, one token per character,
characters the vocabulary lacks skipped; word level, whitespace-separated
words with `<eos>` at each line end, unknown words as `<unk>`. (Jamo level
would first decompose Hangul syllables as rnnlm does; not covered here.)
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class RNNLM(nn.Module):
    def __init__(self, V, D, H, C=0):
        super().__init__()
        self.embed = nn.Embedding(V, D)
        self.rnn = nn.RNN(D, H, nonlinearity="tanh")
        self.out = nn.Linear(H, V)
        self.classes = nn.Linear(H, C) if C else None
        self.register_buffer("class_of", torch.zeros(V, dtype=torch.long))

    def hidden(self, x, h0=None):
        """x [T, B] token ids (time-major) -> h [T, B, H], h_T."""
        return self.rnn(self.embed(x), h0)

    def nll(self, h, y):
        """-ln P(y | h) for each row of h [N, H] and target y [N]."""
        if self.classes is None:
            return F.cross_entropy(self.out(h), y, reduction="none")
        k = self.class_of[y]
        class_lp = F.log_softmax(self.classes(h), -1).gather(1, k[:, None])[:, 0]
        z = self.out(h).masked_fill(self.class_of[None, :] != k[:, None], float("-inf"))
        word_lp = F.log_softmax(z, -1).gather(1, y[:, None])[:, 0]
        return -(class_lp + word_lp)


def load(d):
    config = json.load(open(os.path.join(d, "config.json")))
    vocab = json.load(open(os.path.join(d, "vocab.json"), encoding="utf-8"))
    V, D, H, C = config["vocab_size"], config["embed_dim"], config["hidden_dim"], config["classes"]
    t = lambda name: torch.from_numpy(np.load(os.path.join(d, name + ".npy")))
    m = RNNLM(V, D, H, C)
    with torch.no_grad():
        m.embed.weight.copy_(t("E"))
        m.rnn.weight_ih_l0.copy_(t("W_x"))
        m.rnn.weight_hh_l0.copy_(t("W_h"))
        m.rnn.bias_ih_l0.copy_(t("b_h"))
        m.rnn.bias_hh_l0.zero_()
        m.out.weight.copy_(t("W_y"))
        m.out.bias.copy_(t("b_y"))
        if C:
            m.classes.weight.copy_(t("W_c"))
            m.classes.bias.copy_(t("b_c"))
            m.class_of.copy_(t("class_of").long())
    return config, vocab, m


def tokenize(config, vocab, text):
    ids = {w: i for i, w in enumerate(vocab)}
    if config["level"] == "word":
        return [ids.get(w, ids["<unk>"]) for line in text.split("\n")[:-1] for w in line.split() + ["<eos>"]]
    if config["level"] == "char":
        return [ids[ch] for ch in text if ch in ids]
    raise SystemExit(f"level {config['level']}: not covered by this script")


def evaluate(m, ids):
    """Mean nats per predicted token, one stream from h_0 = 0, as `rnnlm eval`."""
    x = torch.tensor(ids[:-1])[:, None]
    y = torch.tensor(ids[1:])
    with torch.no_grad():
        h, _ = m.hidden(x)
        return m.nll(h[:, 0], y).mean().item()


def save(config, vocab, m, d):
    """The way back: a folder `rnnlm import --dir` reads."""
    os.makedirs(d, exist_ok=True)
    put = lambda name, x: np.save(os.path.join(d, name + ".npy"), x.detach().cpu().numpy().astype("<f4"))
    put("E", m.embed.weight)
    put("W_x", m.rnn.weight_ih_l0)
    put("W_h", m.rnn.weight_hh_l0)
    put("b_h", m.rnn.bias_ih_l0 + m.rnn.bias_hh_l0)  # one bias in rnnlm: the sum
    put("W_y", m.out.weight)
    put("b_y", m.out.bias)
    if m.classes is not None:
        put("W_c", m.classes.weight)
        put("b_c", m.classes.bias)
        np.save(os.path.join(d, "class_of.npy"), m.class_of.cpu().numpy().astype("<i4"))
    json.dump(vocab, open(os.path.join(d, "vocab.json"), "w", encoding="utf-8"), ensure_ascii=False)
    json.dump(config, open(os.path.join(d, "config.json"), "w"))


if __name__ == "__main__":
    command, d = sys.argv[1], sys.argv[2]
    config, vocab, m = load(d)
    m = m.double()  # score in f64; the weights are rnnlm's f32 values
    if command == "eval":
        ids = tokenize(config, vocab, open(sys.argv[3], encoding="utf-8").read())
        nats = evaluate(m, ids)
        print(len(ids) - 1, nats, float(np.exp(nats)))
    elif command == "back":
        # Show the bias split on the way back: move half of b_h into bias_hh_l0.
        with torch.no_grad():
            half = m.rnn.bias_ih_l0 / 2
            m.rnn.bias_ih_l0.copy_(half)
            m.rnn.bias_hh_l0.copy_(half)
        save(config, vocab, m, sys.argv[3])
    else:
        raise SystemExit(__doc__)
