"""Known bugs of bidirectional-rnn: each an edit of the reference as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_MASK = reference_function(__file__, "length_mask")
_REVERSE = reference_function(__file__, "reverse_padded")
_MASKED = reference_function(__file__, "masked_rnn_forward")
_BI = reference_function(__file__, "birnn_forward")

BUGS = [
    KnownBug(
        # <= where < belongs: one padded step counted as real (steps count from 0).
        name="length-mask-off-by-one",
        function="length_mask",
        hint="steps count from 0: step t of sequence n is real when t < lengths[n], not <=",
        code=edited(
            _MASK, ("np.arange(T)[None, :] < np.asarray", "np.arange(T)[None, :] <= np.asarray")
        ),
        fails=("length_mask", "masked_rnn_forward", "birnn_forward"),
    ),
    KnownBug(
        # np.flip over the whole padded time axis: the padding comes first, and the reverse
        # direction then runs over the padding of shorter sequences.
        name="reverse-runs-over-padding",
        function="reverse_padded",
        hint="reverse each sequence within its own length: the padding of a shorter sequence must stay at its end",
        code="""
def reverse_padded(x, lengths):
    return x[:, ::-1].copy()
""",
        fails=("reverse_padded", "birnn_forward"),
    ),
    KnownBug(
        # The outputs masked but the state kept moving over the padding.
        name="state-not-frozen-on-padding",
        function="masked_rnn_forward",
        hint="stop the state at the last real step: h = np.where(real, rnn_cell(...), h)",
        code=edited(
            _MASKED,
            (
                "h = np.where(real, rnn_cell(x[:, t], h, Wx, Wh, b), h)",
                "h = rnn_cell(x[:, t], h, Wx, Wh, b)",
            ),
        ),
        fails=("masked_rnn_forward", "birnn_forward"),
    ),
    KnownBug(
        # States kept on the padding instead of 0 (what pad_packed_sequence gives).
        name="padded-outputs-not-zero",
        function="masked_rnn_forward",
        hint="outputs at padded positions are 0, as pad_packed_sequence returns them",
        code=edited(_MASKED, ("hs.append(np.where(real, h, 0.0))", "hs.append(h)")),
        fails=("masked_rnn_forward", "birnn_forward"),
    ),
    KnownBug(
        # The backward direction's states left in reading order (step T-1 first).
        name="backward-states-not-realigned",
        function="birnn_forward",
        hint="the backward direction's state for step t was computed at its position lengths - 1 - t: "
        "reverse its states back with reverse_padded before concatenating",
        code=edited(_BI, ("reverse_padded(hs_b, lengths)], axis=2)", "hs_b], axis=2)")),
    ),
    KnownBug(
        # [backward, forward]: PyTorch puts the forward direction's half first.
        name="directions-concatenated-backward-first",
        function="birnn_forward",
        hint="concatenate forward first, as PyTorch: out[..., :H] forward, out[..., H:] backward (and h_n[0] forward)",
        code=edited(
            _BI,
            (
                "np.concatenate([hs_f, reverse_padded(hs_b, lengths)], axis=2), np.stack([last_f, last_b])",
                "np.concatenate([reverse_padded(hs_b, lengths), hs_f], axis=2), np.stack([last_b, last_f])",
            ),
        ),  # fmt: skip
    ),
]

EQUIVALENT = {
    "birnn_forward/axis/axis=2->-1#0": "the states are 3-D (N, T, H): axis -1 is axis 2",
}
