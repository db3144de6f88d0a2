"""# Training infrastructure: byte-level BPE, sequence packing, tensor-parallel linear layers

The machinery around a large model's training step: the tokenizer that turns text into
ids, the packing that fills every row of a batch, and the layers that split one matrix
across several devices (simulated here: each "rank" is one slice of an array).

**Byte-level BPE** (Sennrich et al. 2016; GPT-2's byte-level variant, Radford et al. 2019).
Text is first cut into *pre-tokens* by the given `pretokenize` (a word with its leading
space, or a run of whitespace), each pre-token as its UTF-8 bytes. The base vocabulary is
the 256 bytes: id b is the byte b. Training repeats `n_merges` times:

1. count every adjacent pair of symbols **inside each pre-token**, weighted by how often
   that pre-token occurs in the text: a pair never spans two pre-tokens;
2. take the most frequent pair (a, b); **ties** go to the pair whose byte strings are
   lexicographically smallest, comparing bytes(a) first, then bytes(b) (then the smaller
   ids, should two tokens spell the same bytes): a rule that does not depend on the
   order in which pairs were met;
3. the new token 256 + i (i = the merge's index) stands for bytes(a) + bytes(b); replace
   each occurrence of (a, b) in every pre-token, left to right, without overlap.

**Overlapping pairs** are counted as the merge would replace them: a run of n equal
symbols "aaa...a" holds n // 2 pairs (a, a), not n - 1 ("aaa" merges once, into "aa" + "a").
So a pair is counted left to right, skipping an occurrence that overlaps the one just
counted. Training stops early when no pre-token has two symbols left.

**Encoding** cuts the text at the special tokens first (the leftmost match, the longest
special at that place): a special token always becomes its own single id,
256 + len(merges) + j for specials[j], however its characters would otherwise merge.
Each piece between them is pre-tokenized; each pre-token starts as its bytes and
repeatedly merges the adjacent pair of **lowest merge index** (all its non-overlapping
occurrences, left to right) until no pair of it is a merge (GPT-2's `bpe`). **Decoding**
joins the ids' bytes and decodes the whole byte string as UTF-8 once, invalid bytes as
U+FFFD ("replace"): a character's bytes may lie in two tokens. decode(encode(t)) == t for
every string t.

**Sequence packing** (as in T5's and Llama's pre-training): documents of 1 to L tokens are
laid into rows of L tokens in order, next-fit: a document goes into the current row if it
fits, else it starts a new row; a document is never split, and a row's unused tail is
padding. Four (R, L) arrays describe the rows (R = the number of rows used):

    tokens        int64: the ids, pad_id in padding
    position_ids  int64: the position inside the token's own document, 0 at each
                  document's first token (0 in padding)
    doc_ids       int64: the index of the token's document in `docs`, -1 in padding
    mask          (R, L, L) bool, **True = may attend**: query i sees key j when both hold
                  tokens of the same document and j <= i (causal inside a document,
                  nothing across documents); a padding row or column is all False

(True = attend, as `F.scaled_dot_product_attention`'s boolean mask; `nn.MultiheadAttention`
uses the opposite polarity.)

**Tensor parallelism** (Megatron-LM, Shoeybi et al. 2019, section 3). A linear layer
y = x @ W + b, x (N, d_in), W (d_in, d_out) (**(in, out)** layout), split over P ranks
into **contiguous** blocks, rank r holding block r:

- *column-parallel*: W's columns (output features) split, W_r = W[:, r k:(r+1) k] and b_r
  (k = d_out / P); rank r computes y_r = x @ W_r + b_r and an all-gather concatenates the
  y_r along the features. Backward: rank r gets dy_r (its columns of dy), dW_r = x^T dy_r,
  db_r = sum_n dy_r, and dx = sum_r dy_r @ W_r^T: an **all-reduce** sums the ranks' parts.
- *row-parallel*: W's rows (input features) split, W_r = W[r k:(r+1) k] (k = d_in / P),
  and x likewise, x_r = x[:, r k:(r+1) k]; rank r computes the partial sum x_r @ W_r (no
  bias) and an **all-reduce** sums them; b is added once, after the sum. Backward: every
  rank gets the whole dy, dx_r = dy @ W_r^T (dx = their concatenation), dW_r = x_r^T dy,
  db = sum_n dy (once).

The two together make Megatron's MLP: column-parallel then row-parallel, one all-reduce.

**Pipeline parallelism, 1F1B** (PipeDream-Flush, Narayanan et al. 2021; Megatron's
non-interleaved schedule). The layers are cut into S stages, the batch into M
micro-batches; stage s runs forward F_m after stage s - 1's F_m and backward B_m after
stage s + 1's B_m. Stage s first runs w = min(S - s - 1, M) warm-up forwards, then
alternates one forward and one backward (F_{w+i}, B_i) until the forwards are done, then
the remaining backwards, in micro-batch order. It holds at most min(S - s, M) micro-batches'
activations (GPipe's all-forwards-then-all-backwards holds M). With forward and backward
steps of equal time, a step lasts 2 (M + S - 1) units, of which each stage idles
2 (S - 1): the **bubble fraction** is (S - 1) / (M + S - 1) (idle over total time).

**Gradient checkpointing** (Chen et al. 2016, "Training deep nets with sublinear memory
cost"). For L layers h_{l+1} = tanh(h_l @ W_l), the forward pass keeps only the
checkpoints h_0, h_k, h_2k, ... (k = segment, the first activation of each segment) and
the output h_L, ceil(L / k) + 1 arrays instead of plain backprop's L + 1; the backward
pass, segment by segment from the last, recomputes the segment's inner activations from
its checkpoint (len - 1 layer forwards; its last needed activation is the next checkpoint
or the output), then backpropagates through it: L - ceil(L / k) recomputed layers in all,
the same gradients as plain backprop. With k ~ sqrt(L), memory O(sqrt L) for one extra
forward.

## Conventions this exercise holds (the grader checks each)

- Token ids are Python ints; merges are a list of (left id, right id) pairs, merge i
  making token 256 + i; specials follow the merges.
- Masks: True = may attend. Weights (in, out); P divides the split dimension; shards are
  contiguous blocks in rank order, stacked along a new first axis.
- You may compute with NumPy or torch tensors, but not with the libraries that do the job
  (`tokenizers`, `tiktoken`, `sentencepiece`, `transformers`, `torch.distributed`).
- Never modify an input in place.

Read: Sennrich, Haddow & Birch (2016), "Neural machine translation of rare words with
subword units"; Radford et al. (2019), GPT-2, section 2.2 (byte-level BPE); Krell et al.
(2021), "Efficient sequence packing without cross-contamination"; Shoeybi et al. (2019),
"Megatron-LM", section 3; Narayanan et al. (2021), "Efficient large-scale language model
training on GPU clusters", section 2.2; Chen et al. (2016); Karpathy's minbpe.
"""

import re

import numpy as np


def pretokenize(text: str) -> list[bytes]:
    """Given: the pre-tokens of text, as UTF-8 bytes: a word with its leading space
    (" ?\\S+"), or a run of whitespace. Joined, they give the text back."""
    return [piece.encode("utf-8") for piece in re.findall(r" ?\S+|\s+", text)]


def bpe_train(text: str, n_merges: int) -> list[tuple[int, int]]:
    """Learn up to n_merges byte-level BPE merges from text.

    Returns the merges in order, a list of (left id, right id) tuples of ints; merge i
    makes token 256 + i. Pairs are counted inside pre-tokens only, weighted by each
    pre-token's count, overlapping occurrences of a pair not counted twice ("aaa" holds
    one (a, a)); ties go to the lexicographically smallest (bytes(left), bytes(right)).
    Fewer merges when no pre-token has two symbols left.
    """
    ### BEGIN SOLUTION
    vocab = {i: bytes([i]) for i in range(256)}
    counts: dict[bytes, int] = {}
    for piece in pretokenize(text):
        counts[piece] = counts.get(piece, 0) + 1
    words = {piece: list(piece) for piece in counts}
    merges = []
    for i in range(n_merges):
        pairs: dict[tuple[int, int], int] = {}
        for piece, symbols in words.items():
            last = None  # the pair counted at the previous position
            for pair in zip(symbols, symbols[1:]):
                if pair == last:  # overlaps the occurrence just counted
                    last = None
                    continue
                pairs[pair] = pairs.get(pair, 0) + counts[piece]
                last = pair
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], vocab[p[0]], vocab[p[1]], p))
        new = 256 + i
        vocab[new] = vocab[best[0]] + vocab[best[1]]
        merges.append(best)
        for piece, symbols in words.items():
            out, j = [], 0
            while j < len(symbols):
                if j + 1 < len(symbols) and (symbols[j], symbols[j + 1]) == best:
                    out.append(new)
                    j += 2
                else:
                    out.append(symbols[j])
                    j += 1
            words[piece] = out
    return merges
    ### END SOLUTION


def bpe_encode(text: str, merges: list[tuple[int, int]], specials: list[str]) -> list[int]:
    """The ids of text under merges (as bpe_train returns) and special tokens.

    specials[j] is the single id 256 + len(merges) + j wherever it occurs (leftmost
    match, longest special first); every other piece is pre-tokenized and each pre-token
    merged pair by pair, the lowest merge index first. Returns a list of ints.
    """
    ### BEGIN SOLUTION
    rank = {tuple(pair): i for i, pair in enumerate(merges)}
    special_id = {s: 256 + len(merges) + j for j, s in enumerate(specials)}
    if specials:
        alternatives = "|".join(re.escape(s) for s in sorted(specials, key=len, reverse=True))
        pieces = re.split(f"({alternatives})", text)
    else:
        pieces = [text]
    ids = []
    for k, piece in enumerate(pieces):
        if k % 2 == 1:  # re.split puts the separators (the specials) at odd indices
            ids.append(special_id[piece])
            continue
        for word in pretokenize(piece):
            symbols = list(word)
            while len(symbols) > 1:
                pair = min(zip(symbols, symbols[1:]), key=lambda p: rank.get(p, len(rank)))
                if pair not in rank:
                    break
                out, j = [], 0
                while j < len(symbols):
                    if j + 1 < len(symbols) and (symbols[j], symbols[j + 1]) == pair:
                        out.append(256 + rank[pair])
                        j += 2
                    else:
                        out.append(symbols[j])
                        j += 1
                symbols = out
            ids.extend(symbols)
    return ids
    ### END SOLUTION


def bpe_decode(ids: list[int], merges: list[tuple[int, int]], specials: list[str]) -> str:
    """The text of ids (as bpe_encode makes them): the tokens' bytes joined, then decoded
    as UTF-8 once, invalid bytes as U+FFFD (errors="replace"). Returns a str."""
    ### BEGIN SOLUTION
    vocab = [bytes([i]) for i in range(256)]
    for left, right in merges:
        vocab.append(vocab[left] + vocab[right])
    vocab += [s.encode("utf-8") for s in specials]
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
    ### END SOLUTION


def pack_sequences(docs: list[list[int]], seq_len: int, pad_id: int):
    """Pack documents into rows of seq_len tokens, next-fit, in order, never splitting one.

    docs: lists of 1 to seq_len token ids (raise ValueError for a longer one). Returns
    (tokens, position_ids, doc_ids), each (R, seq_len) int64, and mask (R, seq_len,
    seq_len) bool, True = query i may attend key j (same document, j <= i). Padding:
    token pad_id, position 0, doc -1, its mask row and column all False.
    """
    ### BEGIN SOLUTION
    rows: list[list[int]] = []  # the documents of each row
    used = seq_len  # the current row's length: a full "row" before the first one
    for d, doc in enumerate(docs):
        if len(doc) > seq_len:
            raise ValueError(f"document {d} has {len(doc)} tokens, more than seq_len = {seq_len}")
        if used + len(doc) > seq_len:
            rows.append([])
            used = 0
        rows[-1].append(d)
        used += len(doc)
    R = len(rows)
    tokens = np.full((R, seq_len), pad_id, dtype=np.int64)
    positions = np.zeros((R, seq_len), dtype=np.int64)
    doc_ids = np.full((R, seq_len), -1, dtype=np.int64)
    for r, row in enumerate(rows):
        start = 0
        for d in row:
            n = len(docs[d])
            tokens[r, start : start + n] = docs[d]
            positions[r, start : start + n] = np.arange(n)
            doc_ids[r, start : start + n] = d
            start += n
    same = (doc_ids[:, :, None] == doc_ids[:, None, :]) & (doc_ids[:, :, None] >= 0)
    mask = same & np.tril(np.ones((seq_len, seq_len), dtype=bool))
    return tokens, positions, doc_ids, mask
    ### END SOLUTION


def column_parallel_linear(x, W, b, world_size: int):
    """y = x @ W + b with W's columns split over world_size ranks.

    x: (N, d_in); W: (d_in, d_out); b: (d_out,); world_size divides d_out. Returns
    (y (N, d_out), outputs (world_size, N, d_out / world_size)): outputs[r] = x @ W_r + b_r,
    rank r's contiguous block of columns, and y their all-gather (concatenation).
    """
    ### BEGIN SOLUTION
    x, W, b = np.asarray(x), np.asarray(W), np.asarray(b)
    k = W.shape[1] // world_size
    outputs = np.stack(
        [x @ W[:, r * k : (r + 1) * k] + b[r * k : (r + 1) * k] for r in range(world_size)]
    )
    return np.concatenate(list(outputs), axis=-1), outputs
    ### END SOLUTION


def column_parallel_backward(x, W, dy, world_size: int):
    """The gradients of column_parallel_linear, rank by rank.

    x: (N, d_in); W: (d_in, d_out); dy: (N, d_out), dL/dy. Returns (dx (N, d_in), the
    all-reduce sum of the ranks' dy_r @ W_r^T; dW (world_size, d_in, k), dW[r] = x^T dy_r;
    db (world_size, k), db[r] = dy_r summed over the batch), k = d_out / world_size.
    """
    ### BEGIN SOLUTION
    x, W, dy = np.asarray(x), np.asarray(W), np.asarray(dy)
    k = W.shape[1] // world_size
    blocks = [slice(r * k, (r + 1) * k) for r in range(world_size)]
    dx = sum(dy[:, c] @ W[:, c].T for c in blocks)
    dW = np.stack([x.T @ dy[:, c] for c in blocks])
    db = np.stack([dy[:, c].sum(axis=0) for c in blocks])
    return dx, dW, db
    ### END SOLUTION


def row_parallel_linear(x, W, b, world_size: int):
    """y = x @ W + b with W's rows (and x's columns) split over world_size ranks.

    x: (N, d_in); W: (d_in, d_out); b: (d_out,); world_size divides d_in. Returns
    (y (N, d_out), partials (world_size, N, d_out)): partials[r] = x_r @ W_r (no bias),
    x_r = x[:, block r], W_r = W[block r]; y = the all-reduce sum of the partials + b.
    """
    ### BEGIN SOLUTION
    x, W, b = np.asarray(x), np.asarray(W), np.asarray(b)
    k = W.shape[0] // world_size
    partials = np.stack(
        [x[:, r * k : (r + 1) * k] @ W[r * k : (r + 1) * k] for r in range(world_size)]
    )
    return partials.sum(axis=0) + b, partials
    ### END SOLUTION


def row_parallel_backward(x, W, dy, world_size: int):
    """The gradients of row_parallel_linear, rank by rank.

    x: (N, d_in); W: (d_in, d_out); dy: (N, d_out), the same on every rank. Returns
    (dx (N, d_in), the concatenation of the ranks' dy @ W_r^T; dW (world_size, k, d_out),
    dW[r] = x_r^T dy; db (d_out,), dy summed over the batch once), k = d_in / world_size.
    """
    ### BEGIN SOLUTION
    x, W, dy = np.asarray(x), np.asarray(W), np.asarray(dy)
    k = W.shape[0] // world_size
    blocks = [slice(r * k, (r + 1) * k) for r in range(world_size)]
    dx = np.concatenate([dy @ W[c].T for c in blocks], axis=1)
    dW = np.stack([x[:, c].T @ dy for c in blocks])
    return dx, dW, dy.sum(axis=0)
    ### END SOLUTION


def pipeline_schedule(n_stages: int, n_micro: int):
    """The 1F1B schedule of n_stages stages and n_micro micro-batches, and its bubble.

    Returns (order, bubble): order (n_stages, 2 n_micro) int64, row s the steps stage s
    runs in order, +(m + 1) for the forward of micro-batch m and -(m + 1) for its backward;
    bubble, a float: the idle fraction (S - 1) / (M + S - 1).
    """
    ### BEGIN SOLUTION
    S, M = n_stages, n_micro
    order = np.zeros((S, 2 * M), dtype=np.int64)
    for s in range(S):
        warm = min(S - s - 1, M)
        steps = [m + 1 for m in range(warm)]
        for i in range(M - warm):
            steps += [warm + i + 1, -(i + 1)]
        steps += [-(m + 1) for m in range(M - warm, M)]
        order[s] = steps
    return order, (S - 1) / (M + S - 1)
    ### END SOLUTION


def checkpointed_forward_backward(x, Ws, dout, segment: int):
    """Forward and backward of L tanh layers with gradient checkpointing every segment layers.

    x: (N, d); Ws: (L, d, d), h_{l+1} = tanh(h_l @ Ws[l]); dout: (N, d), dLoss/dh_L.
    Returns (out (N, d) = h_L, dx (N, d), dWs (L, d, d), stored, recomputed): stored (int)
    the activations the forward keeps (the checkpoints h_0, h_segment, ... below L, and
    the output), recomputed (int) the layer forwards the backward re-runs.
    """
    ### BEGIN SOLUTION
    x, Ws, dout = np.asarray(x), np.asarray(Ws), np.asarray(dout)
    L = Ws.shape[0]
    checkpoints = {}
    h = x
    for layer in range(L):
        if layer % segment == 0:
            checkpoints[layer] = h
        h = np.tanh(h @ Ws[layer])
    out, g = h, dout
    dWs = np.zeros_like(Ws)
    recomputed = 0
    for start in sorted(checkpoints, reverse=True):
        end = min(start + segment, L)
        hs = [checkpoints[start]]  # h_start .. h_end, recomputed from the checkpoint
        for layer in range(start, end - 1):
            hs.append(np.tanh(hs[-1] @ Ws[layer]))
            recomputed += 1
        hs.append(out if end == L else checkpoints[end])
        for layer in range(end - 1, start - 1, -1):
            dz = g * (1 - hs[layer - start + 1] ** 2)
            dWs[layer] = hs[layer - start].T @ dz
            g = dz @ Ws[layer].T
    return out, g, dWs, len(checkpoints) + 1, recomputed
    ### END SOLUTION
