"""Grader for alignment: the Bradley-Terry reward loss, sequence log-probs, DPO, PPO's clipped
objective with a k3 KL penalty, demographic parity and equalized odds differences.

The trusted references are written here with PyTorch's own operations, each a different
route from the solution's: `F.binary_cross_entropy_with_logits` against a target of ones
for -log sigmoid, `F.cross_entropy(reduction="none")` on the shifted logits for the
sequence log-probs, and torch.autograd of those formulas for every gradient; NumPy's
`np.logaddexp` gives the float64 central differences. The bias metrics are checked on
constructed cases whose answers are worked out by hand in the comments, then against the
reference on random cases. torch is imported inside the functions that use it.
"""

import numpy as np
import pytest

from nnfs_cli.checks import (
    DTYPES,
    GradeFailure,
    as_tuple,
    assert_backward,
    assert_close,
    assert_shape,
    assert_true,
    describe,
    expected_gradients,
    torch_oracle,
)
from nnfs_cli.grading.result import Diagnosis

HINTS = {
    "reward_model_loss": "loss = mean(-log sigmoid(r_chosen - r_rejected)) over the pairs; d_chosen = "
    "-sigmoid(-(r_chosen - r_rejected)) / N and d_rejected = -d_chosen",
    "sequence_logprobs": "log_softmax(logits[:, :-1]) scores labels[:, 1:] (logits at t predict token t + 1); "
    "keep the terms where response_mask[:, 1:] is True and SUM them per sequence",
    "dpo_loss": "margin = beta * ((pi_c - ref_c) - (pi_r - ref_r)); loss = mean(-log sigmoid(margin)); "
    "d_pi_c = -beta * sigmoid(-margin) / N, d_pi_r = -d_pi_c",
    "ppo_objective": "r = exp(new - old); loss = -(mean(min(r A, clip(r, 1 - eps, 1 + eps) A)) - beta * mean(kl)), "
    "kl = exp(d) - d - 1 with d = ref - new; the gradient is with respect to logp_new",
    "demographic_parity_difference": "the rate of y_pred == 1 within each group, then the largest rate minus "
    "the smallest",
    "equalized_odds_difference": "per group, TPR = mean of y_pred over its y_true == 1 samples and FPR = mean "
    "over its y_true == 0 samples; return max(TPR range, FPR range)",
}
STABLE = "compute -log sigmoid(m) as softplus(-m) (F.logsigmoid, np.logaddexp(0, -m)): log(sigmoid(m)) is log(0) for m << 0"


def torch_of(a):
    import torch

    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def neg_logsigmoid(m):
    """-log sigmoid(m) per entry through PyTorch's BCE-with-logits against a target of 1."""
    import torch

    F = torch.nn.functional
    return F.binary_cross_entropy_with_logits(m, torch.ones_like(m), reduction="none")


def sigmoid(t):
    """torch.sigmoid as float64 NumPy: stable where 1 / (1 + np.exp(-x)) overflows."""
    import torch

    return torch.sigmoid(t).numpy()


def learner_tuple(fn, args, n, what, on):
    return as_tuple(fn(*args), n, what, on)


def assert_loss(loss, expected, what, *, grads, expected_grads, wrt, **kw):
    """assert_close on the loss; a wrong loss whose every gradient is right (`expected_grads()`,
    {name: gradient}, computed only then) is told as a mistake in a term the gradient does not
    see: one constant in the differentiated inputs."""
    try:
        assert_close(loss, expected, what, **kw)
    except GradeFailure as failure:
        if failure.diagnosis is None and gradients_right(loss, grads, expected_grads, wrt):
            off = float(np.asarray(loss, np.float64)) - float(expected)
            failure.diagnosis = Diagnosis(
                "signature",
                "loss-offset-gradient-right",
                f"the loss is off by {off:.6g} while its gradient with respect to {', '.join(wrt)} is right: "
                f"the mistake is in a term that does not change with {', '.join(wrt)} (a constant such as "
                "k3's - 1, a clip bound where the clip holds, or a term of the constants alone)",
            )
        raise


def gradients_right(loss, grads, expected_grads, wrt):
    """One finite loss value, and every gradient equal to the expected one (float64 to float64
    precision, float32 to float32's); False on anything else (a story is a bonus)."""
    try:
        if np.size(loss) != 1 or not np.isfinite(float(np.asarray(loss, np.float64))):
            return False
        exp = expected_grads()
        return all(
            np.shape(g) == np.shape(exp[n])
            and np.allclose(np.asarray(g, np.float64), exp[n], **(
                {"rtol": 1e-7, "atol": 1e-10} if np.asarray(g).dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-6}))
            for n, g in zip(wrt, grads, strict=True)
        )  # fmt: skip
    except Exception:
        return False


def check_loss_and_grads(
    got, expected_loss, forward_torch, forward_numpy, inputs, wrt, what, on, hint, n
):
    """The loss against the torch reference, then each gradient against central differences
    of `forward_numpy` and torch.autograd of `forward_torch` (both in float64)."""
    loss, *grads = got
    assert_loss(loss, expected_loss, f"{what}: loss", grads=grads, wrt=wrt, on=on, inputs=inputs, hint=hint,
                batch=n, expected_grads=lambda: expected_gradients(forward_torch, inputs, np.array(1.0), wrt,
                                                                   "torch"))  # fmt: skip
    if all(v.dtype == np.float64 for v in inputs.values()):
        for oracle, forward in (("numerical", forward_numpy), ("torch", forward_torch)):
            assert_backward(tuple(grads), forward, inputs, np.array(1.0), wrt, f"{what}: gradient", oracle=oracle,
                            on=on, hints=dict.fromkeys(wrt, hint), batch=n)  # fmt: skip
        return
    # float32 inputs: autograd's float64 gradients at float32 precision (`inputs` loosens it)
    expected = expected_gradients(forward_torch, inputs, np.array(1.0), wrt, "torch")
    for name, g in zip(wrt, grads):
        assert_shape(g, np.shape(inputs[name]), f"{what}: d{name}", on=on)
        others = {f"d{k}": v for k, v in expected.items() if k != name}
        assert_close(g, expected[name], f"{what}: d{name} (vs torch.autograd)", on=on, inputs=inputs, hint=hint,
                     batch=n, others=others)  # fmt: skip


# ---------------------------------------------------------------------------------------
# reward_model_loss
# ---------------------------------------------------------------------------------------


def bt_torch(r_chosen, r_rejected):
    return neg_logsigmoid(r_chosen - r_rejected).mean()


def bt_numpy(r_chosen, r_rejected):
    return np.logaddexp(0.0, -(r_chosen - r_rejected)).mean()


def call_reward(learner, rc, rr):
    on = describe(r_chosen=rc, r_rejected=rr)
    return learner_tuple(
        learner.reward_model_loss, (rc, rr), 3, "reward_model_loss(r_chosen, r_rejected)", on
    ), on


@pytest.mark.parametrize("n", [1, 5, 8])
@pytest.mark.part("reward_model_loss", points=0.2)
def test_reward_model_loss_shapes(learner, n):
    """(loss: one number, d_chosen (N,), d_rejected (N,)) for N = 1, 5, 8 pairs."""
    rng = np.random.default_rng(n)
    (loss, dc, dr), on = call_reward(learner, rng.normal(size=n), rng.normal(size=n))
    assert_shape(loss, (), "reward_model_loss: loss (one number)", on=on)
    assert_shape(dc, (n,), "reward_model_loss: d_chosen", on=on)
    assert_shape(dr, (n,), "reward_model_loss: d_rejected", on=on)


@DTYPES
@pytest.mark.parametrize("n", [1, 7])
@pytest.mark.part("reward_model_loss", points=0.5)
def test_reward_model_loss_values_and_gradients(learner, dtype, n):
    """The loss equals F.binary_cross_entropy_with_logits(r_c - r_r, 1) averaged over the
    pairs; each gradient equals float64 central differences and torch.autograd."""
    rng = np.random.default_rng(10 + n)
    rc, rr = (rng.normal(scale=2, size=n).astype(dtype) for _ in range(2))
    got, on = call_reward(learner, rc, rr)
    expected = float(bt_torch(torch_of(rc), torch_of(rr)))
    check_loss_and_grads(got, expected, bt_torch, bt_numpy, {"r_chosen": rc, "r_rejected": rr},
                         ["r_chosen", "r_rejected"], "reward_model_loss", on, HINTS["reward_model_loss"], n)  # fmt: skip


@pytest.mark.part("reward_model_loss", points=0.5)
def test_reward_model_loss_known_values(learner):
    """Equal rewards give log 2 and gradients -+1/(2N); a margin of log 3 gives log(4/3)
    (sigmoid(log 3) = 3/4) and gradients -+1/(4N)."""
    for margin, loss, grad in ((0.0, np.log(2), -0.5), (np.log(3), np.log(4 / 3), -0.25)):
        rr = np.array([0.0, 1.5, -2.0, 4.0])
        rc = rr + margin
        (got_loss, dc, dr), on = call_reward(learner, rc, rr)
        assert_close(got_loss, loss, f"reward_model_loss: loss at margin {margin:.4g}", on=on,
                     hint=HINTS["reward_model_loss"], batch=4)  # fmt: skip
        assert_close(dc, np.full(4, grad / 4), f"reward_model_loss: d_chosen at margin {margin:.4g}", on=on,
                     others={"d_rejected": np.full(4, -grad / 4)}, hint=HINTS["reward_model_loss"], batch=4)  # fmt: skip
        assert_close(dr, np.full(4, -grad / 4), f"reward_model_loss: d_rejected at margin {margin:.4g}", on=on,
                     others={"d_chosen": np.full(4, grad / 4)}, hint=HINTS["reward_model_loss"], batch=4)  # fmt: skip


@DTYPES
@pytest.mark.part("reward_model_loss", points=0.75)
def test_reward_model_loss_large_margins(learner, dtype):
    """Margins from -1000 to 1000 (a confident, or confidently wrong, reward model): the
    loss and gradients are finite and exact (-log sigmoid(-1000) = 1000). The margins are
    not symmetric, so a reversed preference changes the loss."""
    rc = np.array([1000.0, -900.0, 50.0, -60.0, 200.0, -300.0], dtype=dtype)
    rr = np.zeros(6, dtype=dtype)
    got, on = call_reward(learner, rc, rr)
    expected = float(bt_torch(torch_of(rc), torch_of(rr)))
    loss, dc, dr = got
    assert_close(loss, expected, "reward_model_loss: loss at large margins", on=on, inputs={"r_chosen": rc},
                 hint=STABLE, batch=6)  # fmt: skip
    exp_dc = -sigmoid(-torch_of(rc) + torch_of(rr)) / 6
    assert_close(dc, exp_dc, "reward_model_loss: d_chosen at large margins", on=on, inputs={"r_chosen": rc},
                 others={"d_rejected": -exp_dc}, hint="d_chosen = -sigmoid(-margin) / N: torch.sigmoid is stable",
                 batch=6)  # fmt: skip
    assert_close(dr, -exp_dc, "reward_model_loss: d_rejected at large margins", on=on, inputs={"r_chosen": rc},
                 others={"d_chosen": exp_dc}, batch=6)  # fmt: skip


# ---------------------------------------------------------------------------------------
# sequence_logprobs
# ---------------------------------------------------------------------------------------


def torch_sequence_logprobs(logits, labels, mask):
    """-cross_entropy of logits[:, t] against labels[:, t + 1], kept where mask[:, t + 1]."""
    import torch

    F = torch.nn.functional
    logits, labels = torch_of(logits), torch.as_tensor(labels, dtype=torch.long)
    n, t, v = logits.shape
    ce = F.cross_entropy(logits[:, :-1].reshape(-1, v), labels[:, 1:].reshape(-1), reduction="none")
    return (
        (-ce.reshape(n, t - 1) * torch.as_tensor(mask[:, 1:], dtype=torch.float64))
        .sum(dim=1)
        .numpy()
    )


def sequences(n, t, v, seed, prompt=2, pad=1, scale=2.0):
    """Logits, labels and a response mask: a prompt of `prompt` tokens, then the response,
    then `pad` padding tokens (id 0, a valid token) at the end of every other sequence."""
    rng = np.random.default_rng(seed)
    logits = scale * rng.normal(size=(n, t, v))
    labels = rng.integers(0, v, size=(n, t))
    mask = np.zeros((n, t), dtype=bool)
    for i in range(n):
        end = t - pad * (i % 2)
        mask[i, prompt:end] = True
        labels[i, end:] = 0
    return logits, labels, mask


def check_sequence_logprobs(learner, logits, labels, mask, what, hint=HINTS["sequence_logprobs"]):
    on = describe(logits=logits, labels=labels, response_mask=mask)
    got = learner.sequence_logprobs(logits, labels, mask)
    assert_shape(got, (logits.shape[0],), f"sequence_logprobs: {what}", on=on)
    expected = torch_sequence_logprobs(logits, labels, mask)
    assert_close(
        got, expected, f"sequence_logprobs: {what}", on=on, inputs={"logits": logits}, hint=hint
    )


@pytest.mark.parametrize("case", [(1, 4, 3), (3, 6, 5), (4, 7, 11)], ids=str)
@pytest.mark.part("sequence_logprobs", points=0.4)
def test_sequence_logprobs_matches_cross_entropy(learner, case):
    """(N,) sums equal -F.cross_entropy of the shifted logits (logits[:, t] scoring
    labels[:, t + 1]) over the response tokens, with a prompt and end padding."""
    n, t, v = case
    check_sequence_logprobs(learner, *sequences(n, t, v, seed=t), f"(N, T, V) = {case}")


@pytest.mark.part("sequence_logprobs", points=0.4)
def test_sequence_logprobs_float32(learner):
    """float32 logits give float32-accurate sums."""
    logits, labels, mask = sequences(3, 6, 7, seed=20)
    check_sequence_logprobs(learner, logits.astype(np.float32), labels, mask, "float32 logits")


@pytest.mark.part("sequence_logprobs", points=0.5)
def test_sequence_logprobs_masks(learner):
    """Left padding, a one-token response, a whole response (mask True from position 1),
    and a sequence with no response token at all (its sum is 0)."""
    logits, labels, _ = sequences(4, 6, 5, seed=21)
    mask = np.array(
        [[0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 1], [0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]], dtype=bool
    )
    check_sequence_logprobs(
        learner, logits, labels, mask, "left padding, short, whole and empty responses"
    )


@pytest.mark.part("sequence_logprobs", points=0.5)
def test_sequence_logprobs_ignores_what_is_not_scored(learner):
    """The logits of the last position (they predict no token) and the labels and logits
    of masked positions do not change the result."""
    logits, labels, mask = sequences(3, 6, 5, seed=22)
    on = describe(logits=logits, labels=labels, response_mask=mask)
    base = np.asarray(learner.sequence_logprobs(logits, labels, mask), dtype=np.float64)
    changed_logits, changed_labels = logits.copy(), labels.copy()
    changed_logits[:, -1] += 5 * np.random.default_rng(23).normal(size=changed_logits[:, -1].shape)
    changed_labels[~mask] = (changed_labels[~mask] + 1) % 5
    got = learner.sequence_logprobs(changed_logits, changed_labels, mask)
    assert_close(got, base, "sequence_logprobs: after changing the last position's logits and the labels where "
                 "response_mask is False", on=on,
                 hint="logits at t predict token t + 1, so the last position's logits score nothing; a token "
                 "whose mask is False (prompt, padding) contributes nothing")  # fmt: skip


@pytest.mark.part("sequence_logprobs", points=0.5)
def test_sequence_logprobs_large_logits(learner):
    """Logits of scale 1e3: unlikely tokens have log-probs of ~-1e3, finite and exact."""
    logits, labels, mask = sequences(3, 5, 6, seed=24, scale=1e3)
    check_sequence_logprobs(learner, logits, labels, mask, "logits ~1e3",
                            hint="use log_softmax (subtract each row's max first): log(softmax(x)) is log(0) "
                            "= -inf for a token whose probability underflows")  # fmt: skip


# ---------------------------------------------------------------------------------------
# dpo_loss
# ---------------------------------------------------------------------------------------

DPO_NAMES = ["policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected"]


def dpo_torch(beta):
    def forward(policy_chosen, policy_rejected, ref_chosen, ref_rejected):
        margin = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))
        return neg_logsigmoid(margin).mean()

    return forward


def dpo_numpy(beta):
    def forward(policy_chosen, policy_rejected, ref_chosen, ref_rejected):
        margin = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))
        return np.logaddexp(0.0, -margin).mean()

    return forward


def dpo_inputs(n, seed, dtype=np.float64, scale=3.0):
    rng = np.random.default_rng(seed)
    # sequence log-probs are negative sums of tens of tokens
    return {k: (-20 + scale * rng.normal(size=n)).astype(dtype) for k in DPO_NAMES}


def call_dpo(learner, inputs, beta):
    on = describe(**inputs, beta=beta)
    args = (*(inputs[k] for k in DPO_NAMES), beta)
    return learner_tuple(learner.dpo_loss, args, 3, "dpo_loss(pc, pr, rc, rr, beta)", on), on


@pytest.mark.parametrize("n", [1, 6])
@pytest.mark.part("dpo_loss", points=0.2)
def test_dpo_loss_shapes(learner, n):
    """(loss: one number, d_policy_chosen (N,), d_policy_rejected (N,))."""
    (loss, dc, dr), on = call_dpo(learner, dpo_inputs(n, n), 0.1)
    assert_shape(loss, (), "dpo_loss: loss (one number)", on=on)
    assert_shape(dc, (n,), "dpo_loss: d_policy_chosen", on=on)
    assert_shape(dr, (n,), "dpo_loss: d_policy_rejected", on=on)


@DTYPES
@pytest.mark.parametrize(("n", "beta"), [(1, 0.1), (5, 0.5), (8, 2.0)], ids=str)
@pytest.mark.part("dpo_loss", points=0.4)
def test_dpo_loss_values_and_gradients(learner, dtype, n, beta):
    """The loss equals the closed form mean(-log sigmoid(beta ((pc - rc) - (pr - rr)))) in
    torch; both policy gradients equal central differences and torch.autograd."""
    inputs = dpo_inputs(n, 30 + n, dtype)
    got, on = call_dpo(learner, inputs, beta)
    expected = float(dpo_torch(beta)(*(torch_of(inputs[k]) for k in DPO_NAMES)))
    check_loss_and_grads(got, expected, dpo_torch(beta), dpo_numpy(beta), inputs, ["policy_chosen", "policy_rejected"],
                         "dpo_loss", on, HINTS["dpo_loss"], n)  # fmt: skip


@pytest.mark.part("dpo_loss", points=0.5)
def test_dpo_loss_at_the_reference(learner):
    """A policy equal to the reference: the loss is log 2 and the gradients are -+beta/(2N),
    whatever the log-probs; a policy that moved toward the chosen answer by 1 nat more than
    toward the rejected one (beta = 0.5): the loss is log(1 + exp(-0.5))."""
    rng = np.random.default_rng(40)
    ref_c, ref_r = -20 + rng.normal(size=4), -25 + rng.normal(size=4)
    for shift, loss in ((0.0, np.log(2)), (1.0, np.log1p(np.exp(-0.5)))):
        inputs = {"policy_chosen": ref_c + shift, "policy_rejected": ref_r.copy(), "ref_chosen": ref_c,
                  "ref_rejected": ref_r}  # fmt: skip
        (got, dc, dr), on = call_dpo(learner, inputs, 0.5)
        grad = -0.5 / (1 + np.exp(0.5 * shift)) / 4
        assert_close(got, loss, f"dpo_loss: loss with the policy {shift} nat above the reference on the chosen",
                     on=on, hint=HINTS["dpo_loss"], batch=4)  # fmt: skip
        assert_close(dc, np.full(4, grad), "dpo_loss: d_policy_chosen", on=on, others={"d_policy_rejected": np.full(4, -grad)},
                     hint=HINTS["dpo_loss"], batch=4)  # fmt: skip
        assert_close(dr, np.full(4, -grad), "dpo_loss: d_policy_rejected", on=on, others={"d_policy_chosen": np.full(4, grad)},
                     hint=HINTS["dpo_loss"], batch=4)  # fmt: skip


@DTYPES
@pytest.mark.part("dpo_loss", points=0.75)
def test_dpo_loss_large_margins(learner, dtype):
    """Log-ratios that differ by hundreds of nats (beta = 1; margins up to +-1500): the loss
    and gradients are finite and exact."""
    inputs = {"policy_chosen": np.array([-10.0, -900.0, -30.0, -400.0]), "policy_rejected": np.array([-900.0, -10.0, -90.0, -20.0]),
              "ref_chosen": np.array([-500.0, -300.0, -40.0, -100.0]), "ref_rejected": np.array([-300.0, -500.0, -60.0, -80.0])}  # fmt: skip
    inputs = {k: v.astype(dtype) for k, v in inputs.items()}
    (loss, dc, dr), on = call_dpo(learner, inputs, 1.0)
    t = {k: torch_of(v) for k, v in inputs.items()}
    margin = (t["policy_chosen"] - t["ref_chosen"]) - (t["policy_rejected"] - t["ref_rejected"])
    assert_close(loss, float(neg_logsigmoid(margin).mean()), "dpo_loss: loss at large margins", on=on,
                 inputs=inputs, hint=STABLE, batch=4)  # fmt: skip
    exp_dc = -sigmoid(-margin) / 4
    assert_close(dc, exp_dc, "dpo_loss: d_policy_chosen at large margins", on=on, inputs=inputs,
                 others={"d_policy_rejected": -exp_dc}, hint="-beta * sigmoid(-margin) / N: torch.sigmoid is stable",
                 batch=4)  # fmt: skip
    assert_close(dr, -exp_dc, "dpo_loss: d_policy_rejected at large margins", on=on, inputs=inputs,
                 others={"d_policy_chosen": exp_dc}, batch=4)  # fmt: skip


# ---------------------------------------------------------------------------------------
# ppo_objective
# ---------------------------------------------------------------------------------------

PPO_NAMES = ["logp_new", "logp_old", "logp_ref", "advantages"]


def ppo_torch(epsilon, beta):
    def forward(logp_new, logp_old, logp_ref, advantages):
        import torch

        ratio = torch.exp(logp_new - logp_old)
        clipped = torch.clamp(ratio, 1 - epsilon, 1 + epsilon)
        surrogate = torch.minimum(ratio * advantages, clipped * advantages)
        d = logp_ref - logp_new
        return -(surrogate.mean() - beta * (torch.exp(d) - d - 1).mean())

    return forward


def ppo_numpy(epsilon, beta):
    def forward(logp_new, logp_old, logp_ref, advantages):
        ratio = np.exp(logp_new - logp_old)
        surrogate = np.minimum(
            ratio * advantages, np.clip(ratio, 1 - epsilon, 1 + epsilon) * advantages
        )
        d = logp_ref - logp_new
        return -(surrogate.mean() - beta * np.mean(np.expm1(d) - d))

    return forward


def ppo_inputs(n, seed, epsilon, dtype=np.float64, base=-2.0):
    """Ratios spread over [0.5, 1.6], at least 0.02 from the clip points 1 -+ eps (the
    surrogate has a kink there, where central differences are meaningless), advantages of
    both signs, a reference 0.3 nats away on average."""
    rng = np.random.default_rng(seed)
    ratio = rng.uniform(0.5, 1.6, size=n)
    near = np.abs(np.abs(ratio - 1) - epsilon) < 0.02
    ratio[near] += 0.05
    logp_old = base + rng.normal(scale=0.5, size=n)
    values = {"logp_new": logp_old + np.log(ratio), "logp_old": logp_old,
              "logp_ref": logp_old + rng.normal(scale=0.3, size=n), "advantages": rng.normal(size=n)}  # fmt: skip
    return {k: v.astype(dtype) for k, v in values.items()}


def call_ppo(learner, inputs, epsilon, beta):
    on = describe(**inputs, epsilon=epsilon, beta=beta)
    args = (*(inputs[k] for k in PPO_NAMES), epsilon, beta)
    return learner_tuple(
        learner.ppo_objective, args, 2, "ppo_objective(new, old, ref, A, eps, beta)", on
    ), on


@pytest.mark.parametrize("n", [1, 9])
@pytest.mark.part("ppo_objective", points=0.2)
def test_ppo_objective_shapes(learner, n):
    """(loss: one number, d_logp_new (N,))."""
    (loss, grad), on = call_ppo(learner, ppo_inputs(n, n, 0.2), 0.2, 0.1)
    assert_shape(loss, (), "ppo_objective: loss (one number)", on=on)
    assert_shape(grad, (n,), "ppo_objective: d_logp_new", on=on)


@DTYPES
@pytest.mark.parametrize(("n", "epsilon", "beta"), [(1, 0.2, 0.1), (12, 0.2, 0.05), (16, 0.1, 0.0), (10, 0.3, 1.0)],
                         ids=str)  # fmt: skip
@pytest.mark.part("ppo_objective", points=0.3)
def test_ppo_objective_values_and_gradients(learner, dtype, n, epsilon, beta):
    """The loss -(mean(min(r A, clip(r) A)) - beta mean(k3 KL)) equals the torch closed form
    on ratios inside and outside the clip range and advantages of both signs; d_logp_new
    equals central differences and torch.autograd (logp_old, logp_ref, A constants)."""
    inputs = ppo_inputs(n, 50 + n, epsilon, dtype)
    (loss, grad), on = call_ppo(learner, inputs, epsilon, beta)
    expected = float(ppo_torch(epsilon, beta)(*(torch_of(inputs[k]) for k in PPO_NAMES)))
    check_loss_and_grads((loss, grad), expected, ppo_torch(epsilon, beta), ppo_numpy(epsilon, beta), inputs,
                         ["logp_new"], "ppo_objective", on, HINTS["ppo_objective"], n)  # fmt: skip


@pytest.mark.part("ppo_objective", points=0.75)
def test_ppo_objective_clipping_cases(learner):
    """Eight tokens worked by hand (eps = 0.2, beta = 0): A = +1 and -1 with r = 0.5, 0.9,
    1.1, 1.5. Surrogates: A > 0 gives min(r, clip(r)) = 0.5, 0.9, 1.1, 1.2; A < 0 gives
    -max(r, clip(r)) = -0.8, -0.9, -1.1, -1.5; the loss is minus their mean, 0.075. The
    gradient -A r / 8 survives only where the unclipped term is the min: every r for
    A > 0 except 1.5, every r for A < 0 except 0.5."""
    r = np.array([0.5, 0.9, 1.1, 1.5] * 2)
    adv = np.array([1.0] * 4 + [-1.0] * 4)
    old = np.linspace(-3, -1, 8)
    inputs = {
        "logp_new": old + np.log(r),
        "logp_old": old,
        "logp_ref": old + np.log(r),
        "advantages": adv,
    }
    (loss, grad), on = call_ppo(learner, inputs, 0.2, 0.0)
    assert_close(loss, 0.075, "ppo_objective: loss on the hand-worked tokens", on=on,
                 hint="clip the RATIO, multiply by A, then take the min of the two terms; the loss is minus the "
                 "mean objective", batch=8)  # fmt: skip
    live = np.array([1, 1, 1, 0, 0, 1, 1, 1], dtype=float)
    assert_close(grad, -adv * r * live / 8, "ppo_objective: d_logp_new on the hand-worked tokens", on=on,
                 hint="where the clipped term is the min, the token's gradient is 0 (the clip stops it); "
                 "elsewhere it is -A r / N", batch=8)  # fmt: skip


@pytest.mark.part("ppo_objective", points=0.5)
def test_ppo_objective_kl_penalty(learner):
    """The KL term alone (A = 0, beta = 0.5): d = ref - new = log 2 and -log 2 give k3 =
    1 - log 2 and log 2 - 1/2, of mean 1/4, so the loss is 0.5 / 4 = 0.125; the gradient
    beta (1 - exp(d)) / N is -0.25 and +0.125, pushing logp_new toward logp_ref."""
    new = np.array([-2.0, -1.0])
    inputs = {
        "logp_new": new,
        "logp_old": new - 0.1,
        "logp_ref": new + np.log([2.0, 0.5]),
        "advantages": np.zeros(2),
    }
    (loss, grad), on = call_ppo(learner, inputs, 0.2, 0.5)
    assert_loss(loss, 0.125, "ppo_objective: loss of the KL penalty alone (A = 0)", grads=[grad], wrt=["logp_new"],
                expected_grads=lambda: {"logp_new": np.array([-0.25, 0.125])}, on=on,
                hint="kl = exp(d) - d - 1 with d = logp_ref - logp_new; the loss ADDS beta * mean(kl)")  # fmt: skip
    assert_close(grad, np.array([-0.25, 0.125]), "ppo_objective: d_logp_new of the KL penalty alone", on=on,
                 hint="d/dnew of exp(ref - new) - (ref - new) - 1 is 1 - exp(ref - new); times beta / N")  # fmt: skip


@DTYPES
@pytest.mark.part("ppo_objective", points=0.75)
def test_ppo_objective_long_sequences(learner, dtype):
    """Log-probs of whole sequences (~-800): exp(logp) underflows to 0, so the ratio must
    come from exp(logp_new - logp_old) and the KL from exp(logp_ref - logp_new)."""
    inputs = ppo_inputs(6, 60, 0.2, base=-800.0)
    inputs = {k: v.astype(dtype) for k, v in inputs.items()}
    (loss, grad), on = call_ppo(learner, inputs, 0.2, 0.1)
    expected = float(ppo_torch(0.2, 0.1)(*(torch_of(inputs[k]) for k in PPO_NAMES)))
    hint = (
        "exp(-800) is 0 in float64: take exp of the DIFFERENCE of log-probs, never a ratio of exps"
    )
    _, (exp_grad,) = ppo_grad(inputs, 0.2, 0.1)
    assert_loss(loss, expected, "ppo_objective: loss on log-probs ~-800", grads=[grad], wrt=["logp_new"],
                expected_grads=lambda: {"logp_new": exp_grad}, on=on, inputs=inputs, hint=hint, batch=6)  # fmt: skip
    assert_close(grad, exp_grad, "ppo_objective: d_logp_new on log-probs ~-800", on=on, inputs=inputs, hint=hint,
                 batch=6)  # fmt: skip


def ppo_grad(inputs, epsilon, beta):
    return torch_oracle(ppo_torch(epsilon, beta), *(inputs[k] for k in PPO_NAMES), grad_of=[0])


# ---------------------------------------------------------------------------------------
# demographic_parity_difference, equalized_odds_difference
# ---------------------------------------------------------------------------------------


def table(rows, seed):
    """Samples from rows (group, y_true, y_pred, count), shuffled with a seed."""
    g, t, p = (np.repeat([row[i] for row in rows], [row[3] for row in rows]) for i in range(3))
    order = np.random.default_rng(seed).permutation(len(g))
    return g[order], t[order], p[order]


# (name, rows, answer): each answer worked out in its comment.
PARITY_CASES = [
    # group 0: 3 of 4 predicted positive (0.75); group 1: 2 of 10 (0.2): 0.75 - 0.2 = 0.55
    ("two groups of 4 and 10", [(0, 0, 1, 3), (0, 0, 0, 1), (1, 0, 1, 2), (1, 0, 0, 8)], 0.55),
    # ids 7, 2, 5: rates g2 = 3/4, g5 = 3/5, g7 = 1/5: max - min = 0.75 - 0.2 = 0.55
    (
        "three groups, ids 7, 2, 5",
        [(7, 0, 1, 1), (7, 0, 0, 4), (2, 0, 1, 3), (2, 0, 0, 1), (5, 0, 1, 3), (5, 0, 0, 2)],
        0.55,
    ),
    # every group at 1/2: 0
    (
        "equal rates",
        [(0, 0, 1, 2), (0, 0, 0, 2), (1, 0, 1, 5), (1, 0, 0, 5), (2, 0, 1, 1), (2, 0, 0, 1)],
        0.0,
    ),
    # four groups: 1/3, 1, 0.5, 0.25: 1 - 0.25 = 0.75
    (
        "four groups",
        [
            (0, 0, 1, 1),
            (0, 0, 0, 2),
            (1, 0, 1, 2),
            (2, 0, 1, 2),
            (2, 0, 0, 2),
            (3, 0, 1, 1),
            (3, 0, 0, 3),
        ],
        0.75,
    ),
]

ODDS_CASES = [
    # g0: TPR 3/4, FPR 1/4; g1: TPR 2/5, FPR 2/5: TPR range 0.35, FPR range 0.15: 0.35
    (
        "two groups, the TPR gap larger",
        [
            (0, 1, 1, 3),
            (0, 1, 0, 1),
            (0, 0, 1, 1),
            (0, 0, 0, 3),
            (1, 1, 1, 2),
            (1, 1, 0, 3),
            (1, 0, 1, 2),
            (1, 0, 0, 3),
        ],
        0.35,
    ),
    # g0: TPR 1, FPR 0; g1: TPR 1/2, FPR 3/4; g2: TPR 2/3, FPR 1/2: ranges 0.5 and 0.75: 0.75
    (
        "three groups, the FPR gap larger",
        [
            (0, 1, 1, 2),
            (0, 0, 0, 3),
            (1, 1, 1, 1),
            (1, 1, 0, 1),
            (1, 0, 1, 3),
            (1, 0, 0, 1),
            (2, 1, 1, 2),
            (2, 1, 0, 1),
            (2, 0, 1, 1),
            (2, 0, 0, 1),
        ],
        0.75,
    ),
    # ids 4 and 9, same TPR (1/2) and FPR (1/3) in groups of 5 and 10: 0
    (
        "equal odds, unequal sizes",
        [
            (4, 1, 1, 1),
            (4, 1, 0, 1),
            (4, 0, 1, 1),
            (4, 0, 0, 2),
            (9, 1, 1, 2),
            (9, 1, 0, 2),
            (9, 0, 1, 2),
            (9, 0, 0, 4),
        ],
        0.0,
    ),
]


def random_groups(seed, n_groups):
    rng = np.random.default_rng(seed)
    group = rng.integers(0, n_groups, size=60)
    y_true = rng.integers(0, 2, size=60)
    y_true[: 2 * n_groups] = np.tile([0, 1], n_groups)  # every group has positives and negatives
    group[: 2 * n_groups] = np.repeat(np.arange(n_groups), 2)
    y_pred = (rng.random(60) < 0.2 + 0.6 * y_true * rng.random(60) + 0.1 * group).astype(int)
    return group, y_true, y_pred


def check_metric(learner, name, args, expected, what):
    on = describe(**args)
    got = getattr(learner, name)(*args.values())
    assert_true(np.ndim(got) == 0, f"{name}: {what}", f"expected one number, got shape {np.shape(got)}", on=on,
                hint="return a float")  # fmt: skip
    assert_close(got, expected, f"{name}: {what}", on=on, hint=HINTS[name])


@pytest.mark.parametrize("case", PARITY_CASES, ids=lambda c: c[0])
@pytest.mark.part("demographic_parity_difference", points=0.5)
def test_demographic_parity_difference_known_answers(learner, case):
    """Constructed groups whose rates of positive predictions are worked out by hand."""
    name, rows, answer = case
    group, _, y_pred = table(rows, seed=len(rows))
    check_metric(
        learner, "demographic_parity_difference", {"y_pred": y_pred, "group": group}, answer, name
    )


@pytest.mark.parametrize("n_groups", [2, 5])
@pytest.mark.part("demographic_parity_difference", points=0.25)
def test_demographic_parity_difference_random(learner, ref, n_groups):
    """Random predictions of 60 samples in 2 and 5 groups, against the reference; boolean
    predictions give the same answer as 0/1 integers."""
    group, _, y_pred = random_groups(70 + n_groups, n_groups)
    expected = ref.demographic_parity_difference(y_pred, group)
    check_metric(
        learner,
        "demographic_parity_difference",
        {"y_pred": y_pred, "group": group},
        expected,
        "random",
    )
    check_metric(learner, "demographic_parity_difference", {"y_pred": y_pred.astype(bool), "group": group}, expected,
                 "boolean predictions")  # fmt: skip


@pytest.mark.parametrize("case", ODDS_CASES, ids=lambda c: c[0])
@pytest.mark.part("equalized_odds_difference", points=0.5)
def test_equalized_odds_difference_known_answers(learner, case):
    """Constructed groups whose true- and false-positive rates are worked out by hand."""
    name, rows, answer = case
    group, y_true, y_pred = table(rows, seed=len(rows))
    args = {"y_true": y_true, "y_pred": y_pred, "group": group}
    check_metric(learner, "equalized_odds_difference", args, answer, name)


@pytest.mark.parametrize("n_groups", [2, 4])
@pytest.mark.part("equalized_odds_difference", points=0.25)
def test_equalized_odds_difference_random(learner, ref, n_groups):
    """Random labels and predictions of 60 samples in 2 and 4 groups, against the reference."""
    group, y_true, y_pred = random_groups(80 + n_groups, n_groups)
    args = {"y_true": y_true, "y_pred": y_pred, "group": group}
    check_metric(learner, "equalized_odds_difference", args, ref.equalized_odds_difference(y_true, y_pred, group),
                 "random")  # fmt: skip
