"""Grader for bidirectional-rnn: length masks, reversal within lengths, a masked direction,
and a bidirectional layer over a padded batch.

Layers: the mask's and the reversal's values (full length, length 1, mixed) -> the masked
direction against `torch.nn.RNN` on a packed sequence -> padding invariance (garbage in
the padding changes nothing) -> the bidirectional layer against
`torch.nn.RNN(bidirectional=True)` on a packed sequence, and unpacked when every sequence
is full. torch is imported inside the tests that use it.
"""

import numpy as np
import pytest

from nnfs_cli.checks import as_array, as_tuple, assert_close, assert_shape, assert_true, describe

# (N, T, lengths): mixed and unsorted, one full, a length-1 sequence, all full.
BATCHES = [(3, 5, (5, 2, 1)), (4, 6, (3, 6, 1, 4)), (2, 3, (3, 3))]
IDS = ["N3_T5_mixed", "N4_T6_unsorted", "N2_T3_full"]
D, H = 3, 4


def padded_batch(n, t, lengths, seed, pad_value=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, t, D))
    for i, length in enumerate(lengths):
        x[i, length:] = pad_value
    return x, np.array(lengths)


def torch_birnn(seed, bidirectional=True):
    """A float64 tanh nn.RNN(batch_first=True) and its parameters in this exercise's layout."""
    import torch

    torch.manual_seed(seed)
    rnn = torch.nn.RNN(D, H, batch_first=True, bidirectional=bidirectional, dtype=torch.float64)

    def layer(suffix):
        w_ih, w_hh, b_ih, b_hh = (getattr(rnn, f"{p}_l0{suffix}").detach().numpy().copy()
                                  for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))  # fmt: skip
        return w_ih.T.copy(), w_hh.T.copy(), b_ih + b_hh

    return rnn, layer(""), layer("_reverse") if bidirectional else None


def run_packed(rnn, x, h0, lengths):
    """PyTorch's answer for a padded batch: pack, run, pad back with zeros to T."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    with torch.no_grad():
        packed = pack_padded_sequence(
            torch.tensor(x), torch.tensor(lengths), batch_first=True, enforce_sorted=False
        )
        out, h_n = rnn(packed, torch.tensor(h0))
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out.numpy(), h_n.numpy()


# ---------------------------------------------------------------------------------------
# length_mask and reverse_padded
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", BATCHES, ids=IDS)
@pytest.mark.part("length_mask", points=1)
def test_length_mask_values(learner, batch):
    """mask[n, t] is True exactly where t < lengths[n]."""
    n, t, lengths = batch
    lengths = np.array(lengths)
    on = describe(lengths=lengths, T=t)
    got = as_array(learner.length_mask(lengths, t), f"length_mask(lengths, {t})", on=on)
    assert_shape(
        got.astype(np.int64), (n, t), f"length_mask(lengths, {t})", on=on
    )  # a bool array has no arithmetic
    assert_true(got.dtype == np.bool_, "length_mask: dtype", f"expected booleans, got dtype {got.dtype}", on=on,
                hint="a comparison gives booleans: np.arange(T)[None, :] < lengths[:, None]")  # fmt: skip
    expected = np.array([[s < length for s in range(t)] for length in lengths])
    assert_close(got.astype(np.int64), expected.astype(np.int64), f"length_mask(lengths, {t}) (1 = real step)",
                 on=on, hint="step t of sequence n is real when t < lengths[n] (steps count from 0)")  # fmt: skip


@pytest.mark.parametrize("batch", BATCHES, ids=IDS)
@pytest.mark.part("reverse_padded", points=1)
def test_reverse_padded_values(learner, ref, batch):
    """Each sequence reversed within its own length, the padding left in place."""
    x, lengths = padded_batch(*batch, seed=1, pad_value=9.0)
    on = describe(x=x, lengths=lengths)
    assert_close(learner.reverse_padded(x, lengths), ref.reverse_padded(x, lengths), "reverse_padded(x, lengths)",
                 on=on, inputs={"x": x},
                 hint="y[n, t] = x[n, lengths[n] - 1 - t] for t < lengths[n]; the padding stays where it is")  # fmt: skip


@pytest.mark.part("reverse_padded", points=1)
def test_reverse_padded_twice_is_identity_for_any_trailing_shape(learner):
    """reverse_padded(reverse_padded(x)) == x, for x of shape (N, T) and (N, T, 2, 3)."""
    rng = np.random.default_rng(2)
    lengths = np.array([4, 1, 3])
    for shape in [(3, 4), (3, 4, 2, 3)]:
        x = rng.normal(size=shape)
        on = describe(x=x, lengths=lengths)
        once = learner.reverse_padded(x, lengths)
        assert_close(learner.reverse_padded(np.asarray(once), lengths), x, "reverse_padded applied twice", on=on,
                     hint="index the time axis only; the feature axes ride along")  # fmt: skip


# ---------------------------------------------------------------------------------------
# masked_rnn_forward
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", BATCHES, ids=IDS)
@pytest.mark.part("masked_rnn_forward", points=1.5)
def test_masked_rnn_forward_matches_packed_torch(learner, batch):
    """(hs, h_last) equal torch.nn.RNN on a packed batch: 0 on padding, h_last from each
    sequence's own last real step."""
    rnn, (Wx, Wh, b), _ = torch_birnn(seed=3, bidirectional=False)
    x, lengths = padded_batch(*batch, seed=3)
    h0 = np.tanh(np.random.default_rng(4).normal(size=(batch[0], H)))
    out_t, hn_t = run_packed(rnn, x, h0[None], lengths)
    on = describe(x=x, h0=h0, lengths=lengths)
    hs, h_last = as_tuple(
        learner.masked_rnn_forward(x, h0, Wx, Wh, b, lengths), 2, "masked_rnn_forward(...)", on
    )
    assert_close(hs, out_t, "masked_rnn_forward: hs", on=on,
                 hint="outputs past a sequence's length are 0; the state does not move on padding")  # fmt: skip
    assert_close(h_last, hn_t[0], "masked_rnn_forward: h_last", on=on,
                 hint="freeze h after the last real step: h = np.where(real, new_h, h)")  # fmt: skip


@pytest.mark.part("masked_rnn_forward", points=1)
def test_masked_rnn_forward_ignores_what_the_padding_holds(learner):
    """The same batch padded with zeros and with large garbage gives identical results."""
    _, (Wx, Wh, b), _ = torch_birnn(seed=5, bidirectional=False)
    zeros, lengths = padded_batch(3, 5, (5, 2, 1), seed=5, pad_value=0.0)
    garbage, _ = padded_batch(3, 5, (5, 2, 1), seed=5, pad_value=1e3)
    h0 = np.zeros((3, H))
    on = describe(x=garbage, lengths=lengths) + " (padding filled with 1000)"
    clean = as_tuple(
        learner.masked_rnn_forward(zeros, h0, Wx, Wh, b, lengths), 2, "masked_rnn_forward", on
    )
    dirty = as_tuple(
        learner.masked_rnn_forward(garbage, h0, Wx, Wh, b, lengths), 2, "masked_rnn_forward", on
    )
    for name, c, d in zip(("hs", "h_last"), clean, dirty):
        assert_close(d, c, f"masked_rnn_forward: {name} with garbage in the padding", on=on,
                     hint="padding must change nothing: mask both the state update and the outputs")  # fmt: skip


# ---------------------------------------------------------------------------------------
# birnn_forward
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", BATCHES, ids=IDS)
@pytest.mark.part("birnn_forward", points=1.5)
def test_birnn_forward_matches_packed_torch(learner, batch):
    """(out, h_n) equal torch.nn.RNN(bidirectional=True) on a packed batch: out is
    [forward, backward] per step, the backward direction starting at each sequence's own end."""
    rnn, fwd, bwd = torch_birnn(seed=6)
    x, lengths = padded_batch(*batch, seed=6)
    h0 = np.tanh(np.random.default_rng(7).normal(size=(2, batch[0], H)))
    out_t, hn_t = run_packed(rnn, x, h0, lengths)
    on = describe(x=x, h0=h0, lengths=lengths)
    out, h_n = as_tuple(
        learner.birnn_forward(x, h0, fwd, bwd, lengths),
        2,
        "birnn_forward(x, h0, fwd, bwd, lengths)",
        on,
    )
    assert_shape(out, (batch[0], batch[1], 2 * H), "birnn_forward: out (N, T, 2H)", on=on)
    assert_close(out, out_t, "birnn_forward: out", on=on,
                 hint="out[:, t] = [forward state, backward state at t]; run the backward direction on "
                 "reverse_padded(x) and reverse its states back the same way")  # fmt: skip
    assert_close(h_n, hn_t, "birnn_forward: h_n", on=on,
                 hint="h_n[0]: the forward state after the last real step; h_n[1]: the backward state after "
                 "reading the whole sequence (it ends at t = 0)")  # fmt: skip


@pytest.mark.part("birnn_forward", points=1)
def test_birnn_forward_full_batch_matches_unpacked_torch(learner):
    """With every sequence full, equals torch.nn.RNN(bidirectional=True) on the plain tensor."""
    import torch

    rnn, fwd, bwd = torch_birnn(seed=8)
    rng = np.random.default_rng(8)
    x, h0 = rng.normal(size=(2, 4, D)), np.tanh(rng.normal(size=(2, 2, H)))
    with torch.no_grad():
        out_t, hn_t = (t.numpy() for t in rnn(torch.tensor(x), torch.tensor(h0)))
    lengths = np.array([4, 4])
    on = describe(x=x, h0=h0, lengths=lengths)
    out, h_n = as_tuple(
        learner.birnn_forward(x, h0, fwd, bwd, lengths), 2, "birnn_forward(...)", on
    )
    assert_close(
        out,
        out_t,
        "birnn_forward: out (full sequences)",
        on=on,
        hint="forward half first, then backward",
    )
    assert_close(h_n, hn_t, "birnn_forward: h_n (full sequences)", on=on)


@pytest.mark.part("birnn_forward", points=1)
def test_birnn_forward_ignores_what_the_padding_holds(learner):
    """The same batch padded with zeros and with large garbage gives identical results."""
    _, fwd, bwd = torch_birnn(seed=9)
    zeros, lengths = padded_batch(4, 6, (3, 6, 1, 4), seed=9, pad_value=0.0)
    garbage, _ = padded_batch(4, 6, (3, 6, 1, 4), seed=9, pad_value=-500.0)
    h0 = np.zeros((2, 4, H))
    on = describe(x=garbage, lengths=lengths) + " (padding filled with -500)"
    clean = as_tuple(learner.birnn_forward(zeros, h0, fwd, bwd, lengths), 2, "birnn_forward", on)
    dirty = as_tuple(learner.birnn_forward(garbage, h0, fwd, bwd, lengths), 2, "birnn_forward", on)
    for name, c, d in zip(("out", "h_n"), clean, dirty):
        assert_close(d, c, f"birnn_forward: {name} with garbage in the padding", on=on,
                     hint="the backward direction must start at each sequence's last real step, not at T - 1")  # fmt: skip
