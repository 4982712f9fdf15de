# The PyTorch side of the speed comparisons in docs/matmul.md ("Where the AVX2
# machine stands"): a training step of the full-softmax word model (V = 10k,
# D = H = 200, T = 35, B = 20, Adam, clip 5) and one-sample generation of a
# D = H = 512 char model (V = 65), on one thread. Run beside `rnnlm bench train`
# and `rnnlm bench generate`:  python3 docs/pytorch/bench_reference.py
import time, torch, torch.nn as nn
torch.set_num_threads(1)
torch.manual_seed(0)
# Word step: V=10k, D=H=200, T=35, B=20, full softmax, Adam, clip 5.
V, D, H, T, B = 10000, 200, 200, 35, 20
class LM(nn.Module):
    def __init__(s, V, D, H):
        super().__init__(); s.e = nn.Embedding(V, D); s.rnn = nn.RNN(D, H, nonlinearity="tanh"); s.out = nn.Linear(H, V)
    def forward(s, x, h):
        y, h = s.rnn(s.e(x), h); return s.out(y), h
m = LM(V, D, H); opt = torch.optim.Adam(m.parameters(), lr=1e-4); loss_f = nn.CrossEntropyLoss()
x = torch.randint(0, V, (T, B)); y = torch.randint(0, V, (T, B)); h0 = torch.zeros(1, B, H)
times = []
for i in range(60):
    t = time.perf_counter()
    opt.zero_grad(); z, _ = m(x, h0); l = loss_f(z.view(-1, V), y.view(-1)); l.backward()
    nn.utils.clip_grad_norm_(m.parameters(), 5.0); opt.step()
    times.append(time.perf_counter() - t)
times = sorted(times[5:])
print(f"torch word step: best {T*B/times[0]:.0f} tokens/s, median {T*B/times[len(times)//2]:.0f}")
# Generation: char V=65, D=H=512, one sample.
V, D, H = 65, 512, 512
g = LM(V, D, H).eval()
with torch.no_grad():
    for rep in range(3):
        x = torch.zeros(1, 1, dtype=torch.long); h = torch.zeros(1, 1, H); n = 3000
        t = time.perf_counter()
        for i in range(n):
            z, h = g(x, h); p = torch.softmax(z[0, 0], -1); x = torch.multinomial(p, 1).view(1, 1)
        print(f"torch generate D=H=512: {n/(time.perf_counter()-t):.0f} tokens/s")
