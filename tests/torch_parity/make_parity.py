"""Reference data for mdmlab's torch_parity test (tests/test_torch_parity.c).

The PUMA reference transformer, re-typed small and readable from JaeyeonKim01/PUMA
(model/transformer.py and model/utils.py): pre-norm blocks of RMSNorm -> attention (q, k, v and
o projections with bias, RoPE on q and k) -> residual -> RMSNorm -> SwiGLU w3(w1(x) * silu(w2(x)))
-> residual, a final RMSNorm and a linear head (optionally tied to the N(0, 1) embedding).

For each case the script draws the weights with PyTorch's default initialisation under a fixed
seed, runs one forward/backward in float64 (from the float32 weights, so it is the ground truth),
clips the gradient by global norm and takes one torch.optim.AdamW step, and writes
OUTDIR/case_<name>.bin:

  int32   header[64]   MAGIC, VERSION, vocab, seq_len, d, layers, heads, ffn, tied_head, causal,
                       shift_logits, rope (0 standard, 1 reference), B, P_COUNT (12), then the 12
                       tensor sizes in mdmlab's order (HEAD is 0 when tied); the rest 0
  char    name[32]     NUL-padded
  float64 scalars[16]  rope_theta, norm_eps, lr, beta1, beta2, adam_eps, weight_decay, grad_clip,
                       loss, grad_norm (before clipping); the rest 0
  int32   tokens[B*T], targets[B*T]
  float32 weights[B*T]                  loss weights: loss = sum weights * cross-entropy
  float32 params[n]                     the 12 tensors back to back, no padding
  float32 logits[B*T*V]                 shifted when shift_logits (row 0 of a sequence is 0)
  float32 grads[n]                      d loss / d params, before clipping
  float32 params_after[n]               after clipping and one AdamW step

mdmlab's tensors, in order: WTE (V,d); LN1 (L,d); QKVW (L,3d,d) rows [q; k; v]; QKVB (L,3d);
OW (L,d,d); OB (L,d); LN2 (L,d); W1 (L,ffn,d) the SiLU branch (the reference's w2); W2 (L,ffn,d)
the linear branch (the reference's w1); W3 (L,d,ffn); LNF (d); HEAD (V,d).

Usage: make_parity.py OUTDIR
"""
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

MAGIC = 0x6D646D74  # "mdmt"
VERSION = 1
ROPE_STANDARD, ROPE_REFERENCE = 0, 1


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables_reference(dim, max_position, base=10000.0):
    """The reference's tables, computed in float32 exactly as it does: (T, dim) each."""
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2) / dim))
    t = torch.arange(max_position, dtype=torch.float)
    freqs = torch.einsum("t, d -> t d", t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half_reference(x):
    x1, x2 = x[..., ::2], x[..., 1::2]
    return torch.stack((-x2, x1), dim=-1).reshape_as(x)


def rope_reference(x, cos, sin):
    """x: (B, T, H, hd); the reference's map (adjacent pairs, frequencies indexed j mod hd/2)."""
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    return x * cos + rotate_half_reference(x) * sin


def rope_tables_standard(dim, max_position, base=10000.0):
    """Half-split rotation tables in float64: (T, dim/2) each."""
    half = dim // 2
    inv_freq = base ** (-torch.arange(half, dtype=torch.float64) / half)
    angle = torch.arange(max_position, dtype=torch.float64)[:, None] * inv_freq[None, :]
    return angle.cos(), angle.sin()


def rope_standard(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


class Attention(nn.Module):
    def __init__(self, d, heads, causal):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.q_proj = nn.Linear(d, d, bias=True)
        self.k_proj = nn.Linear(d, d, bias=True)
        self.v_proj = nn.Linear(d, d, bias=True)
        self.o_proj = nn.Linear(d, d, bias=True)

    def forward(self, x, rope):
        B, T, d = x.shape
        H, hd = self.heads, d // self.heads
        q = rope(self.q_proj(x).view(B, T, H, hd)).transpose(1, 2)  # (B, H, T, hd)
        k = rope(self.k_proj(x).view(B, T, H, hd)).transpose(1, 2)
        v = self.v_proj(x).view(B, T, H, hd).transpose(1, 2)
        att = q @ k.transpose(-2, -1) / math.sqrt(hd)
        if self.causal:
            future = torch.ones(T, T, dtype=torch.bool).triu(1)
            att = att.masked_fill(future, float("-inf"))
        y = (att.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, T, d)
        return self.o_proj(y)


class SwiGLU(nn.Module):
    def __init__(self, d, ffn):
        super().__init__()
        self.w1 = nn.Linear(d, ffn, bias=False)
        self.w2 = nn.Linear(d, ffn, bias=False)
        self.w3 = nn.Linear(ffn, d, bias=False)

    def forward(self, x):
        return self.w3(self.w1(x) * F.silu(self.w2(x)))


class Block(nn.Module):
    def __init__(self, d, heads, ffn, causal):
        super().__init__()
        self.attn_norm = RMSNorm(d)
        self.attn = Attention(d, heads, causal)
        self.mlp_norm = RMSNorm(d)
        self.mlp = SwiGLU(d, ffn)

    def forward(self, x, rope):
        h = x + self.attn(self.attn_norm(x), rope)
        return h + self.mlp(self.mlp_norm(h))


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.emb = nn.Embedding(c["vocab"], c["d"])
        self.blocks = nn.ModuleList(
            Block(c["d"], c["heads"], c["ffn"], c["causal"]) for _ in range(c["layers"])
        )
        self.norm = RMSNorm(c["d"])
        self.lm_head = nn.Linear(c["d"], c["vocab"], bias=False)
        if c["tied"]:
            self.lm_head.weight = self.emb.weight
        hd = c["d"] // c["heads"]
        if c["rope"] == ROPE_REFERENCE:
            cos, sin = rope_tables_reference(hd, c["seq_len"])
            self.rope_fn = rope_reference
        else:
            cos, sin = rope_tables_standard(hd, c["seq_len"])
            self.rope_fn = rope_standard
        self.cos, self.sin = cos.double(), sin.double()

    def forward(self, ids):
        x = self.emb(ids)
        rope = lambda t: self.rope_fn(t, self.cos.to(t.dtype), self.sin.to(t.dtype))
        for block in self.blocks:
            x = block(x, rope)
        logits = self.lm_head(self.norm(x))
        if self.c["shift"]:  # row j >= 1 predicts position j from the output at j - 1
            logits = torch.cat((torch.zeros_like(logits[:, :1]), logits[:, :-1]), dim=1)
        return logits


def mdmlab_tensors(model):
    """The 12 tensors in mdmlab's layout and order, float32 and flat."""
    blocks = model.blocks
    stack = lambda f: torch.stack([f(b) for b in blocks])
    qkvw = stack(lambda b: torch.cat((b.attn.q_proj.weight, b.attn.k_proj.weight,
                                      b.attn.v_proj.weight)))
    qkvb = stack(lambda b: torch.cat((b.attn.q_proj.bias, b.attn.k_proj.bias,
                                      b.attn.v_proj.bias)))
    tensors = [
        model.emb.weight,
        stack(lambda b: b.attn_norm.weight),
        qkvw,
        qkvb,
        stack(lambda b: b.attn.o_proj.weight),
        stack(lambda b: b.attn.o_proj.bias),
        stack(lambda b: b.mlp_norm.weight),
        stack(lambda b: b.mlp.w2.weight),  # mdmlab's W1 is the SiLU branch
        stack(lambda b: b.mlp.w1.weight),
        stack(lambda b: b.mlp.w3.weight),
        model.norm.weight,
        model.lm_head.weight if not model.c["tied"] else torch.zeros(0),
    ]
    return [t.detach().reshape(-1).float().clone() for t in tensors]


def grads_of(model):
    saved = {p: p.data for p in model.parameters()}
    for p in model.parameters():
        p.data = p.grad
    g = mdmlab_tensors(model)
    for p in model.parameters():
        p.data = saved[p]
    return g


def make_batch(c, gen):
    """tokens, targets, weights (B*T each). Masked diffusion: the last T - prompt positions are
    masked at random (at least one per sequence), weight 1/(n_masked*B) there. AR (shift): the
    targets are the tokens, weight 1/(count*B) on the positions after a random prompt."""
    B, T, V = c["B"], c["seq_len"], c["vocab"]
    if c["shift"]:
        tokens = torch.randint(0, V, (B, T), generator=gen)
        targets = tokens.clone()
        weights = torch.zeros(B, T, dtype=torch.float64)
        for b in range(B):
            prompt = int(torch.randint(1, T // 2, (1,), generator=gen))
            weights[b, prompt:] = 1.0 / ((T - prompt) * B)
        return tokens, targets, weights
    mask_id, prompt = c["mask_id"], c["prompt"]
    targets = torch.randint(c["first_digit"], mask_id, (B, T), generator=gen)
    masked = torch.rand(B, T, generator=gen) < 0.5
    masked[:, :prompt] = False
    masked[:, prompt] = True
    tokens = torch.where(masked, torch.full_like(targets, mask_id), targets)
    weights = masked.double() / (masked.sum(dim=1, keepdim=True).double() * B)
    return tokens, targets, weights


def run_case(c, outdir):
    torch.manual_seed(c["seed"])
    model = Transformer(c)  # float32, PyTorch's default initialisation
    params = mdmlab_tensors(model)
    model.double()
    gen = torch.Generator().manual_seed(c["seed"] + 1)
    tokens, targets, weights = make_batch(c, gen)
    # mdmlab takes float32 weights: the ground truth uses the same rounded values
    weights = weights.float().double()

    logits = model(tokens)
    V = c["vocab"]
    ce = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), reduction="none")
    loss = (weights.reshape(-1) * ce).sum()
    loss.backward()
    grads = grads_of(model)

    opt = c["adamw"]
    grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), opt["grad_clip"]))
    adamw = torch.optim.AdamW(model.parameters(), lr=opt["lr"], betas=(opt["beta1"],
                              opt["beta2"]), eps=opt["eps"], weight_decay=opt["weight_decay"])
    adamw.step()
    params_after = mdmlab_tensors(model)

    sizes = [t.numel() for t in params]
    header = [MAGIC, VERSION, V, c["seq_len"], c["d"], c["layers"], c["heads"], c["ffn"],
              int(c["tied"]), int(c["causal"]), int(c["shift"]), c["rope"], c["B"], len(sizes)]
    header += sizes
    header += [0] * (64 - len(header))
    scalars = [10000.0, 1e-6, opt["lr"], opt["beta1"], opt["beta2"], opt["eps"],
               opt["weight_decay"], opt["grad_clip"], float(loss), grad_norm]
    scalars += [0.0] * (16 - len(scalars))
    path = os.path.join(outdir, "case_%s.bin" % c["name"])
    with open(path, "wb") as f:
        f.write(struct.pack("<64i", *header))
        f.write(struct.pack("<32s", c["name"].encode()))
        f.write(struct.pack("<16d", *scalars))
        f.write(tokens.int().numpy().tobytes())
        f.write(targets.int().numpy().tobytes())
        f.write(weights.float().numpy().tobytes())
        for t in params:
            f.write(t.numpy().tobytes())
        f.write(logits.detach().float().numpy().tobytes())
        for t in grads:
            f.write(t.numpy().tobytes())
        for t in params_after:
            f.write(t.numpy().tobytes())
    print("%s: loss %.6f, grad norm %.4f (clip %g), wrote %s"
          % (c["name"], float(loss), grad_norm, opt["grad_clip"], path))


# adam_eps is large on purpose: on the first step Adam's update is lr * g / (|g| + eps), whose
# slope lr / eps at g = 0 would turn float32 rounding of near-zero gradients into O(lr)
# differences with eps = 1e-8.
CASES = [
    dict(name="sudoku_paper", seed=1, vocab=11, seq_len=162, d=256, layers=8, heads=8, ffn=768,
         tied=False, causal=False, shift=False, rope=ROPE_REFERENCE, B=2,
         mask_id=10, first_digit=1, prompt=81,
         adamw=dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-4, weight_decay=0.1, grad_clip=0.5)),
    dict(name="ar_small", seed=2, vocab=37, seq_len=24, d=32, layers=2, heads=4, ffn=64,
         tied=True, causal=True, shift=True, rope=ROPE_REFERENCE, B=3,
         adamw=dict(lr=1e-3, beta1=0.9, beta2=0.95, eps=1e-4, weight_decay=0.05, grad_clip=100.0)),
    dict(name="bidir_standard_rope", seed=3, vocab=13, seq_len=20, d=48, layers=2, heads=3, ffn=96,
         tied=False, causal=False, shift=False, rope=ROPE_STANDARD, B=2,
         mask_id=12, first_digit=0, prompt=4,
         adamw=dict(lr=2e-3, beta1=0.8, beta2=0.99, eps=1e-4, weight_decay=0.1, grad_clip=0.5)),
]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_parity.py OUTDIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    for c in CASES:
        run_case(c, sys.argv[1])


if __name__ == "__main__":
    main()
