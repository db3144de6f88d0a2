"""Known bugs of alignment: each an edit of the reference function as the solution file has it."""

from nnfs_cli.grading.bugs import KnownBug, edited, reference_function

_BT = reference_function(__file__, "reward_model_loss")
_SEQ = reference_function(__file__, "sequence_logprobs")
_DPO = reference_function(__file__, "dpo_loss")
_PPO = reference_function(__file__, "ppo_objective")
_DPD = reference_function(__file__, "demographic_parity_difference")
_EOD = reference_function(__file__, "equalized_odds_difference")

BUGS = [
    # --- reward_model_loss -------------------------------------------------------------
    KnownBug(
        # log(sigmoid(x)) written literally: the "loss is inf/nan" reports of reward-model
        # training (e.g. OpenRLHF and trl issues about NaN losses on confident pairs).
        name="log-of-sigmoid",
        function="reward_model_loss",
        hint="log(sigmoid(m)) is log(0) = -inf once m < -745: use F.logsigmoid(m) (or -np.logaddexp(0, -m))",
        code=edited(
            _BT, ("-F.logsigmoid(margin).mean()", "-torch.log(torch.sigmoid(margin)).mean()")
        ),
    ),
    KnownBug(
        # The pair order swapped: the model learns to prefer the rejected answer.
        name="preference-reversed",
        function="reward_model_loss",
        hint="the chosen answer should score higher: the margin is r_chosen - r_rejected, not the reverse",
        code=edited(
            _BT,
            (
                "margin = torch.as_tensor(r_chosen) - torch.as_tensor(r_rejected)",
                "margin = torch.as_tensor(r_rejected) - torch.as_tensor(r_chosen)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # The derivative of log sigmoid(m) taken as sigmoid(m) instead of 1 - sigmoid(m).
        name="grad-sigmoid-of-margin",
        function="reward_model_loss",
        hint="d/dm of -log sigmoid(m) is -(1 - sigmoid(m)) = -sigmoid(-m), not -sigmoid(m)",
        code=edited(
            _BT, ("d_chosen = -torch.sigmoid(-margin) / n", "d_chosen = -torch.sigmoid(margin) / n")
        ),
    ),
    # --- sequence_logprobs ---------------------------------------------------------------
    KnownBug(
        # DPO implementations that forget the mask (TRL's early `get_batch_logps` issues,
        # "padding tokens included in the log-probs").
        name="padding-counted",
        function="sequence_logprobs",
        hint="only response tokens count: multiply by response_mask[:, 1:] (prompt and padding are False)",
        code=edited(
            _SEQ, ("torch.where(keep[:, 1:], token_logp, 0.0).sum(dim=1)", "token_logp.sum(dim=1)")
        ),
    ),
    KnownBug(
        # The labels shifted but the mask not: each response's first token is dropped and
        # the first padding token counted (the "label mask off by one" of DPO ports).
        name="label-mask-off-by-one",
        function="sequence_logprobs",
        hint="shift the mask with the labels: the log-prob of token t + 1 counts when response_mask[:, t + 1] is True",
        code=edited(_SEQ, ("torch.where(keep[:, 1:]", "torch.where(keep[:, :-1]")),
    ),
    KnownBug(
        # A per-token mean (SimPO's length-normalised reward, or F.cross_entropy's default
        # reduction) where DPO's log-likelihood of a sequence is a sum.
        name="mean-not-sum",
        function="sequence_logprobs",
        hint="a sequence's log-probability is the SUM of its tokens' log-probs (the chain rule); the per-token "
        "mean is SimPO's length-normalised variant, not DPO's",
        code=edited(
            _SEQ,
            (
                "torch.where(keep[:, 1:], token_logp, 0.0).sum(dim=1)",
                "torch.where(keep[:, 1:], token_logp, 0.0).sum(dim=1) / keep[:, 1:].sum(dim=1).clamp(min=1)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # The masked terms averaged over every position, padding's zeros included
        # ((logp * mask).mean(-1), a frequent DPO port slip: the result then depends on how
        # much padding the batch has).
        name="mean-over-all-positions",
        function="sequence_logprobs",
        hint="SUM the response tokens' log-probs: a mean over all T - 1 positions divides by the padding and "
        "the prompt too, so the same answer scores differently in another batch",
        code=edited(
            _SEQ,
            (
                "torch.where(keep[:, 1:], token_logp, 0.0).sum(dim=1)",
                "torch.where(keep[:, 1:], token_logp, 0.0).mean(dim=1)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # No shift at all: the logits at t score the token at t, which they never saw predicted.
        name="logits-not-shifted",
        function="sequence_logprobs",
        hint="logits at position t predict the token at t + 1: score labels[:, 1:] with logits[:, :-1]",
        code=edited(_SEQ, ("logits[:, :-1]", "logits[:, 1:]")),
    ),
    KnownBug(
        # The softmax over the wrong dimension of (N, T, V) logits: over the positions
        # (dim=1) instead of the vocabulary (PyTorch's "implicit dimension choice for
        # softmax" warning exists because of this slip).
        name="log-softmax-over-positions",
        function="sequence_logprobs",
        hint="normalise over the VOCABULARY, the last axis of (N, T, V): log_softmax(logits, dim=-1); dim=1 "
        "normalises over the positions",
        code=edited(
            _SEQ,
            (
                "torch.log_softmax(logits[:, :-1], dim=-1)",
                "torch.log_softmax(logits[:, :-1], dim=1)",
            ),
        ),
    ),
    # --- dpo_loss ------------------------------------------------------------------------
    KnownBug(
        # beta applied to the chosen log-ratio only (operator precedence).
        name="beta-on-one-term",
        function="dpo_loss",
        hint="beta multiplies the whole difference: beta * ((pc - rc) - (pr - rr))",
        code=edited(
            _DPO,
            ("margin = beta * ((pc - rc) - (pr - rr))", "margin = beta * (pc - rc) - (pr - rr)"),
        ),
    ),
    KnownBug(
        # The reference log-ratio added instead of subtracted (pi_logratios + ref_logratios).
        name="reference-ratio-sign",
        function="dpo_loss",
        hint="subtract the reference: (pc - pr) - (rc - rr), i.e. each answer's log-ratio is policy MINUS reference",
        code=edited(
            _DPO,
            ("margin = beta * ((pc - rc) - (pr - rr))", "margin = beta * ((pc - pr) + (rc - rr))"),
        ),
    ),
    KnownBug(
        # -logsigmoid(-margin): the loss then rewards preferring the rejected answer.
        name="logsigmoid-of-negated-margin",
        function="dpo_loss",
        hint="the loss is -logsigmoid(+margin): it falls as the policy prefers the chosen answer more than the "
        "reference does",
        code=edited(
            _DPO,
            ("loss = -F.logsigmoid(margin).mean()", "loss = -F.logsigmoid(-margin).mean()"),
            (
                "d_chosen = -beta * torch.sigmoid(-margin)",
                "d_chosen = beta * torch.sigmoid(margin)",
            ),
        ),  # fmt: skip
    ),
    # --- ppo_objective -------------------------------------------------------------------
    KnownBug(
        # Clamping the product r A instead of the ratio (a common slip in hand-written PPO,
        # e.g. Stack Exchange "PPO clip implementation" questions).
        name="clip-the-surrogate",
        function="ppo_objective",
        hint="clip the RATIO to [1 - eps, 1 + eps], then multiply by A: clip(r, 1 - eps, 1 + eps) * A",
        code=edited(
            _PPO,
            (
                "torch.clamp(ratio, 1 - epsilon, 1 + epsilon) * adv",
                "torch.clamp(ratio * adv, 1 - epsilon, 1 + epsilon)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # min(r, clip(r)) * A: right for A > 0, wrong for A < 0 (the bound must be
        # pessimistic on both sides).
        name="min-before-advantage",
        function="ppo_objective",
        hint="take the min of the two PRODUCTS, r A and clip(r) A: for A < 0 min(r, clip(r)) * A picks the optimistic one",
        code=edited(
            _PPO,
            (
                "torch.min(ratio * adv, torch.clamp(ratio, 1 - epsilon, 1 + epsilon) * adv)",
                "torch.min(ratio, torch.clamp(ratio, 1 - epsilon, 1 + epsilon)) * adv",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # The min kept after negating into a loss: min(-r A, -clip A) = -max(r A, clip A), the
        # optimistic bound.
        name="min-on-the-loss",
        function="ppo_objective",
        hint="the OBJECTIVE takes the min (pessimistic bound); its negative, the loss, takes the max: "
        "loss = -mean(min(r A, clip(r) A)), not mean(min(-r A, -clip(r) A))",
        code=edited(
            _PPO,
            (
                "torch.min(ratio * adv, torch.clamp(ratio, 1 - epsilon, 1 + epsilon) * adv)",
                "torch.max(ratio * adv, torch.clamp(ratio, 1 - epsilon, 1 + epsilon) * adv)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # The penalty's sign flipped when the objective is negated into a loss.
        name="kl-penalty-wrong-sign",
        function="ppo_objective",
        hint="the KL penalty keeps the policy near the reference: the objective SUBTRACTS beta * KL, so the loss adds it",
        code=edited(
            _PPO,
            (
                "loss = -(surrogate.mean() - beta * kl.mean())",
                "loss = -(surrogate.mean() + beta * kl.mean())",
            ),
        ),
    ),
    KnownBug(
        # The objective to maximise returned (the paper's J), not the loss.
        name="objective-not-loss",
        kind="convention",
        function="ppo_objective",
        hint="you returned the objective J to MAXIMISE (as the PPO paper writes it); this exercise returns the "
        "loss -J to minimise, as optimizers and libraries (TRL, CleanRL) do: negate it and its gradient",
        code=edited(
            _PPO,
            (
                "loss = -(surrogate.mean() - beta * kl.mean())",
                "loss = surrogate.mean() - beta * kl.mean()",
            ),
        ),
    ),
    KnownBug(
        # InstructGPT's per-token penalty log pi - log pi_ref (the k1 estimator).
        name="kl-k1-estimator",
        kind="convention",
        function="ppo_objective",
        hint="you used the k1 estimator logp_new - logp_ref (InstructGPT's per-token penalty); this exercise uses "
        "k3 = exp(d) - d - 1 with d = logp_ref - logp_new (Schulman 2020, GRPO): unbiased too, and never negative",
        code=edited(_PPO, ("kl = torch.exp(d) - d - 1", "kl = -d")),
    ),
    KnownBug(
        # exp(logp_new) / exp(logp_old): 0 / 0 for a whole sequence's log-prob.
        name="ratio-of-exps",
        function="ppo_objective",
        hint="exp(-800) is 0: compute the ratio as exp(logp_new - logp_old), never exp(logp_new) / exp(logp_old)",
        code=edited(
            _PPO, ("ratio = torch.exp(new - old)", "ratio = torch.exp(new) / torch.exp(old)")
        ),
    ),
    # --- demographic_parity_difference ---------------------------------------------------
    KnownBug(
        # Counts of positive predictions compared across groups of different sizes.
        name="counts-not-rates",
        function="demographic_parity_difference",
        hint="compare RATES, P(y_pred = 1 | g) = positives of g / size of g: groups differ in size",
        code=edited(_DPD, ("y_pred[group == g].mean()", "y_pred[group == g].sum()")),
    ),
    KnownBug(
        # The two-group formula |rate_a - rate_b| applied to the first two groups only.
        name="first-two-groups-only",
        function="demographic_parity_difference",
        hint="with more than two groups the difference is max over ALL groups minus min over all groups",
        code=edited(
            _DPD,
            ("return float(max(rates) - min(rates))", "return float(abs(rates[0] - rates[1]))"),
        ),
    ),
    # --- equalized_odds_difference -------------------------------------------------------
    KnownBug(
        # Equal opportunity (Hardt et al.'s TPR-only criterion) taken for equalized odds.
        name="tpr-gap-only",
        function="equalized_odds_difference",
        hint="that is the equal-opportunity difference (TPR only); equalized odds also compares FPRs: return the "
        "larger of the TPR gap and the FPR gap",
        code=edited(
            _EOD,
            (
                "return float(max(max(tpr) - min(tpr), max(fpr) - min(fpr)))",
                "return float(max(tpr) - min(tpr))",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # AIF360's average odds difference (the mean of the two gaps) for Fairlearn's max.
        name="average-of-the-gaps",
        function="equalized_odds_difference",
        hint="that averages the TPR and FPR gaps (AIF360's average odds difference); the equalized odds "
        "difference is the LARGER of the two (Fairlearn)",
        code=edited(
            _EOD,
            (
                "return float(max(max(tpr) - min(tpr), max(fpr) - min(fpr)))",
                "return float(((max(tpr) - min(tpr)) + (max(fpr) - min(fpr))) / 2)",
            ),
        ),  # fmt: skip
    ),
    KnownBug(
        # Rates over the whole group instead of over its positives (or negatives).
        name="rates-over-the-group",
        function="equalized_odds_difference",
        hint="TPR divides by the group's POSITIVES (y_true == 1), FPR by its negatives, not by the group's size",
        code=edited(
            _EOD,
            (
                "tpr.append(y_pred[in_g & (y_true == 1)].mean())",
                "tpr.append((y_pred * (in_g & (y_true == 1))).sum() / in_g.sum())",
            ),
            (
                "fpr.append(y_pred[in_g & (y_true == 0)].mean())",
                "fpr.append((y_pred * (in_g & (y_true == 0))).sum() / in_g.sum())",
            ),
        ),  # fmt: skip
    ),
]

# audit mutants reviewed as equivalent: {mutant id: reason}
EQUIVALENT = {
    "ppo_objective/swap-args/swap first two arguments#0": "torch.min(a, b) and torch.min(b, a) are the same "
    "values, and at a tie (r inside the clip range) both branches carry the same gradient A r",
    "equalized_odds_difference/swap-args/swap first two arguments#0": "max(tpr_gap, fpr_gap) is symmetric",
}
