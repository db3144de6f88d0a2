"""A correct training-infrastructure in another style: BPE counted with collections.Counter
and the overlap rule written as "the pair may not start where the last counted one
ended"; encoding by replaying every merge in training order over each pre-token (the same
result as lowest-rank-first: a merge's pairs all rank after it); decoding by expanding
merged ids recursively into a bytearray; packing with explicit loops; the parallel layers
with torch tensors, in float32 when given float32, and their backward by torch.autograd
on each rank's slice; the pipeline schedule as a queue (forward while fewer than S - s
micro-batches are in flight, else the oldest backward); checkpointing with each segment's
inner layers re-run under torch.autograd."""

import re
from collections import Counter

import numpy as np
import torch


def pretokenize(text):
    return [piece.encode("utf-8") for piece in re.findall(r" ?\S+|\s+", text)]


def _merge(symbols, pair, new):
    out, j = [], 0
    while j < len(symbols):
        if tuple(symbols[j : j + 2]) == pair:
            out.append(new)
            j += 2
        else:
            out.append(symbols[j])
            j += 1
    return out


def bpe_train(text, n_merges):
    spelled = {i: bytes([i]) for i in range(256)}
    freq = Counter(pretokenize(text))
    words = {w: list(w) for w in freq}
    merges = []
    for step in range(n_merges):
        counts = Counter()
        for w, symbols in words.items():
            blocked = -1  # a pair may not start at the right end of the one just counted
            for j in range(len(symbols) - 1):
                pair = (symbols[j], symbols[j + 1])
                if j == blocked and pair == (symbols[j - 1], symbols[j]):
                    continue
                counts[pair] += freq[w]
                blocked = j + 1
        if not counts:
            break
        top = max(counts.values())
        tied = sorted(p for p, c in counts.items() if c == top)
        pair = sorted(tied, key=lambda p: (spelled[p[0]], spelled[p[1]]))[0]
        spelled[256 + step] = spelled[pair[0]] + spelled[pair[1]]
        merges.append(pair)
        words = {w: _merge(s, pair, 256 + step) for w, s in words.items()}
    return merges


def bpe_encode(text, merges, specials):
    first = 256 + len(merges)
    ids, k = [], 0
    plain = ""
    while k < len(text):
        hits = [s for s in specials if text.startswith(s, k)]
        if not hits:
            plain += text[k]
            k += 1
            continue
        ids += _encode_plain(plain, merges)
        plain = ""
        best = max(hits, key=len)
        ids.append(first + specials.index(best))
        k += len(best)
    return ids + _encode_plain(plain, merges)


def _encode_plain(text, merges):
    ids = []
    for word in pretokenize(text):
        symbols = list(word)
        for i, pair in enumerate(merges):
            symbols = _merge(symbols, tuple(pair), 256 + i)
        ids += symbols
    return ids


def bpe_decode(ids, merges, specials):
    out = bytearray()

    def expand(i):
        if i < 256:
            out.append(i)
        elif i < 256 + len(merges):
            expand(merges[i - 256][0])
            expand(merges[i - 256][1])
        else:
            out.extend(specials[i - 256 - len(merges)].encode("utf-8"))

    for i in ids:
        expand(int(i))
    return bytes(out).decode("utf-8", errors="replace")


def pack_sequences(docs, seq_len, pad_id):
    rows = []
    for d, doc in enumerate(docs):
        if len(doc) > seq_len:
            raise ValueError("a document longer than seq_len")
        if not rows or sum(len(docs[e]) for e in rows[-1]) + len(doc) > seq_len:
            rows.append([])
        rows[-1].append(d)
    tokens = [[pad_id] * seq_len for _ in rows]
    positions = [[0] * seq_len for _ in rows]
    owner = [[-1] * seq_len for _ in rows]
    for r, row in enumerate(rows):
        t = 0
        for d in row:
            for p, token in enumerate(docs[d]):
                tokens[r][t], positions[r][t], owner[r][t] = token, p, d
                t += 1
    mask = np.zeros((len(rows), seq_len, seq_len), dtype=bool)
    for r in range(len(rows)):
        for i in range(seq_len):
            for j in range(i + 1):
                mask[r, i, j] = owner[r][i] != -1 and owner[r][i] == owner[r][j]
    return np.array(tokens), np.array(positions), np.array(owner), mask


def column_parallel_linear(x, W, b, world_size):
    x, W, b = torch.as_tensor(x), torch.as_tensor(W), torch.as_tensor(b)
    outs = [x @ Wr + br for Wr, br in zip(W.chunk(world_size, dim=1), b.chunk(world_size))]
    return torch.cat(outs, dim=1), torch.stack(outs)


def column_parallel_backward(x, W, dy, world_size):
    x, dy = torch.as_tensor(x), torch.as_tensor(dy)
    dx = torch.zeros_like(x)
    dWs, dbs = [], []
    for Wr, dyr in zip(torch.as_tensor(W).chunk(world_size, dim=1), dy.chunk(world_size, dim=1)):
        xr, Wr = x.clone().requires_grad_(), Wr.clone().requires_grad_()
        br = torch.zeros(Wr.shape[1], dtype=x.dtype, requires_grad=True)
        gx, gW, gb = torch.autograd.grad(xr @ Wr + br, [xr, Wr, br], dyr)
        dx, dWs, dbs = dx + gx, dWs + [gW], dbs + [gb]
    return dx, torch.stack(dWs), torch.stack(dbs)


def row_parallel_linear(x, W, b, world_size):
    x, W = torch.as_tensor(x), torch.as_tensor(W)
    parts = torch.stack(
        [xr @ Wr for xr, Wr in zip(x.chunk(world_size, dim=1), W.chunk(world_size, dim=0))]
    )
    return parts.sum(dim=0) + torch.as_tensor(b), parts


def row_parallel_backward(x, W, dy, world_size):
    dy = torch.as_tensor(dy)
    dxs, dWs = [], []
    for xr, Wr in zip(
        torch.as_tensor(x).chunk(world_size, dim=1), torch.as_tensor(W).chunk(world_size, dim=0)
    ):
        xr, Wr = xr.clone().requires_grad_(), Wr.clone().requires_grad_()
        gx, gW = torch.autograd.grad(xr @ Wr, [xr, Wr], dy)
        dxs, dWs = dxs + [gx], dWs + [gW]
    return torch.cat(dxs, dim=1), torch.stack(dWs), dy.sum(dim=0)


def pipeline_schedule(n_stages, n_micro):
    # each stage as a queue: forwards while fewer than S - s micro-batches are in flight
    # (the last stage: one), else the oldest backward
    order = []
    for s in range(n_stages):
        limit = min(n_stages - s, n_micro)
        nxt_f, nxt_b, steps = 0, 0, []
        while nxt_b < n_micro:
            if nxt_f < n_micro and nxt_f - nxt_b < limit:
                nxt_f += 1
                steps.append(nxt_f)
            else:
                nxt_b += 1
                steps.append(-nxt_b)
        order.append(steps)
    bubble = 1 - n_micro / (n_micro + n_stages - 1)
    return np.array(order, dtype=np.int64), bubble


def checkpointed_forward_backward(x, Ws, dout, segment):
    # a segment's inner layers re-run from its checkpoint under autograd; its last layer
    # backpropagated by hand from the activation already kept (the next checkpoint or
    # the output); the gradient into the checkpoint carried to the segment before
    x, Ws, dout = torch.as_tensor(x), torch.as_tensor(Ws), torch.as_tensor(dout)
    L = Ws.shape[0]
    starts = list(range(0, L, segment))
    with torch.no_grad():
        kept, h = [], x
        for layer in range(L):
            if layer in starts:
                kept.append(h)
            h = torch.tanh(h @ Ws[layer])
    out, g, grads, recomputed = h, dout, [None] * L, 0
    following = kept[1:] + [out]
    for start, h0, h_end in reversed(list(zip(starts, kept, following))):
        end = min(start + segment, L)
        h0 = h0.clone().requires_grad_()
        ws = [Ws[layer].clone().requires_grad_() for layer in range(start, end - 1)]
        h = h0
        for w in ws:
            h = torch.tanh(h @ w)
            recomputed += 1
        dz = g * (1 - h_end**2)
        grads[end - 1] = h.detach().T @ dz
        g = dz @ Ws[end - 1].T
        if ws:
            got = torch.autograd.grad(h, [h0, *ws], g)
            g, grads[start : end - 1] = got[0], got[1:]
    return out, g, torch.stack(grads), len(kept) + 1, recomputed
