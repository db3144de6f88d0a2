"""# Alignment: reward models, DPO, the PPO clipped objective, bias metrics

Reinforcement learning from human feedback (RLHF) turns pairs of answers that people
ranked into a training signal. Each piece below is a small formula with a sharp edge.

**Reward model, Bradley-Terry loss** (Ouyang et al. 2022, eq. 1). A reward model scores
the chosen answer r_c and the rejected answer r_r of each of N pairs; the probability that
people prefer the chosen one is sigmoid(r_c - r_r), so the loss is

    L = mean_i  -log sigmoid(r_c,i - r_r,i)            (a mean over the N pairs)
    dL/dr_c,i = -sigmoid(-(r_c,i - r_r,i)) / N = -dL/dr_r,i

Compute -log sigmoid(m) as softplus(-m) = log(1 + exp(-m)) written stably
(`torch.nn.functional.logsigmoid`, or `np.logaddexp(0, -m)`): log(sigmoid(m)) is log(0) =
-inf once m < -745 in float64 (m < -104 in float32).

**Sequence log-probabilities.** A causal LM's logits (N, T, V) at position t predict the
token at position **t + 1** (the shift convention of Hugging Face's `labels = input_ids`).
`labels` (N, T) are the token ids of the whole sequence (prompt, response, padding), and
`response_mask` (N, T) is boolean, **True = a response token** whose log-probability
counts; prompt and padding positions are False. The log-probability of sequence n is a
**sum** over its response tokens:

    logp_n = sum_{t=1}^{T-1} response_mask[n, t] * log_softmax(logits[n, t - 1])[labels[n, t]]

Position 0 is never scored (nothing predicts it). Use log_softmax (a max subtracted), not
log(softmax(.)): an unlikely token's probability underflows to 0 for logits ~1e3.

**DPO** (Rafailov et al. 2023, eq. 7). With the sequence log-probs of the chosen (c) and
rejected (r) answers under the policy (pi) and the frozen reference model (ref), and beta > 0:

    margin_i = beta * ((pi_c,i - ref_c,i) - (pi_r,i - ref_r,i))
    L = mean_i  -log sigmoid(margin_i)
    dL/dpi_c,i = -beta * sigmoid(-margin_i) / N = -dL/dpi_r,i

beta multiplies the whole difference of log-ratios; the reference's log-ratio is
subtracted (the implicit reward of an answer is beta * (pi - ref)).

**PPO's clipped surrogate with a KL penalty** (Schulman et al. 2017, eq. 7; Ouyang et al.
2022). Per token i (N tokens): the ratio r_i = exp(logp_new,i - logp_old,i) (computed from
the log-probs' *difference*: exp(logp) of a long sequence underflows to 0), the advantage
A_i, and the **k3 estimator** of KL(pi_new || pi_ref) (Schulman 2020, "Approximating KL
divergence"; used by GRPO), never negative and 0 when the policies agree:

    kl_i = exp(d_i) - d_i - 1,   d_i = logp_ref,i - logp_new,i
    objective J = mean_i min(r_i A_i, clip(r_i, 1 - eps, 1 + eps) A_i)  -  beta * mean_i kl_i
    **loss = -J**  (returned, to be minimised), and dloss/dlogp_new

The ratio is clipped, then multiplied by A, then the min is taken (the pessimistic bound).
logp_old and logp_ref are constants (no gradient). The gradient, per token:
-A_i r_i / N where r_i A_i <= clip(r_i) A_i (else 0), plus beta (1 - exp(d_i)) / N.

**Bias metrics** on binary predictions y_pred (N,) in {0, 1}, a group id per sample
group (N,) (any integers; every group present is counted) and, for equalized odds, the
true labels y_true (N,) in {0, 1}:

    demographic parity difference = max_g P(y_pred = 1 | g) - min_g P(y_pred = 1 | g)
    TPR_g = P(y_pred = 1 | y_true = 1, g),   FPR_g = P(y_pred = 1 | y_true = 0, g)
    equalized odds difference = max(max_g TPR_g - min_g TPR_g, max_g FPR_g - min_g FPR_g)

as Fairlearn defines them (method "between_groups"); with two groups each range is the
absolute difference of the two rates. Every group has positives and negatives here.

## Conventions this exercise holds (the grader checks each)

- Losses are means over pairs (reward model, DPO) or tokens (PPO) and come back as a
  number; every gradient has its input's shape and dtype (float32 in, float32 out).
- Logits at t predict token t + 1; `response_mask` True = counted; sums, not means.
- `ppo_objective` returns the **loss** -J, to minimise, with the k3 KL estimator.
- You may compute with **torch tensors and autograd** (a tensor you return reaches the
  grader as an array), but not with libraries that do the job (TRL, Fairlearn,
  scikit-learn are refused).
- Never modify an input in place.

Read: Ouyang et al. (2022), "Training language models to follow instructions with human
feedback" (InstructGPT); Rafailov et al. (2023), "Direct Preference Optimization";
Schulman et al. (2017), "Proximal Policy Optimization Algorithms"; Hardt, Price & Srebro
(2016), "Equality of opportunity in supervised learning"; the Fairlearn user guide.
"""

import numpy as np
import torch
import torch.nn.functional as F


def reward_model_loss(r_chosen, r_rejected):
    """The Bradley-Terry loss of a reward model and its gradient.

    r_chosen, r_rejected: (N,) rewards of the chosen and the rejected answer of N pairs.
    Returns (loss: the mean of -log sigmoid(r_chosen - r_rejected), a float;
    d_chosen (N,), d_rejected (N,): the loss's gradient with respect to each input).
    """
    ### BEGIN SOLUTION
    margin = torch.as_tensor(r_chosen) - torch.as_tensor(r_rejected)
    n = margin.shape[0]
    loss = -F.logsigmoid(margin).mean()
    d_chosen = -torch.sigmoid(-margin) / n
    return loss.item(), d_chosen, -d_chosen
    ### END SOLUTION


def sequence_logprobs(logits, labels, response_mask):
    """The summed log-probability of each sequence's response tokens.

    logits: (N, T, V), logits[:, t] predict the token at t + 1; labels: (N, T) int token
    ids of the whole sequences; response_mask: (N, T) bool, True = a response token that
    counts (position 0 never does). Returns (N,): sum over t >= 1 of
    response_mask[:, t] * log_softmax(logits[:, t - 1])[labels[:, t]].
    """
    ### BEGIN SOLUTION
    logits = torch.as_tensor(logits)
    labels = torch.as_tensor(labels, dtype=torch.long)
    keep = torch.as_tensor(response_mask, dtype=torch.bool)
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    token_logp = logp.gather(-1, labels[:, 1:, None])[..., 0]
    return torch.where(keep[:, 1:], token_logp, 0.0).sum(dim=1)
    ### END SOLUTION


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta: float):
    """The DPO loss and its gradient with respect to the policy's log-probs.

    policy_chosen, policy_rejected, ref_chosen, ref_rejected: (N,) sequence log-probs
    of the chosen and rejected answers under the policy and the reference model; beta > 0.
    Returns (loss: the mean of -log sigmoid(beta * ((pc - rc) - (pr - rr))), a float;
    d_policy_chosen (N,), d_policy_rejected (N,)).
    """
    ### BEGIN SOLUTION
    pc, pr = torch.as_tensor(policy_chosen), torch.as_tensor(policy_rejected)
    rc, rr = torch.as_tensor(ref_chosen), torch.as_tensor(ref_rejected)
    margin = beta * ((pc - rc) - (pr - rr))
    loss = -F.logsigmoid(margin).mean()
    d_chosen = -beta * torch.sigmoid(-margin) / margin.shape[0]
    return loss.item(), d_chosen, -d_chosen
    ### END SOLUTION


def ppo_objective(logp_new, logp_old, logp_ref, advantages, epsilon: float, beta: float):
    """PPO's clipped surrogate with a k3 KL penalty, as a loss, and its gradient.

    logp_new, logp_old, logp_ref: (N,) log-probs of N sampled tokens under the current
    policy, the policy that sampled them and the reference model; advantages: (N,);
    0 < epsilon < 1; beta >= 0. Returns (loss = -(mean(min(r A, clip(r, 1 - eps, 1 + eps) A))
    - beta * mean(kl)), a float, with r = exp(logp_new - logp_old) and kl = exp(d) - d - 1,
    d = logp_ref - logp_new; d_logp_new (N,): the loss's gradient with respect to logp_new).
    """
    ### BEGIN SOLUTION
    new = torch.as_tensor(logp_new).detach().clone().requires_grad_(True)
    old, ref, adv = (torch.as_tensor(a) for a in (logp_old, logp_ref, advantages))
    ratio = torch.exp(new - old)
    surrogate = torch.min(ratio * adv, torch.clamp(ratio, 1 - epsilon, 1 + epsilon) * adv)
    d = ref - new
    kl = torch.exp(d) - d - 1
    loss = -(surrogate.mean() - beta * kl.mean())
    (grad,) = torch.autograd.grad(loss, new)
    return loss.item(), grad
    ### END SOLUTION


def demographic_parity_difference(y_pred, group) -> float:
    """The largest gap between groups in the rate of positive predictions.

    y_pred: (N,) predictions in {0, 1}; group: (N,) int group ids. Returns
    max_g P(y_pred = 1 | g) - min_g P(y_pred = 1 | g) over the groups present, a float.
    """
    ### BEGIN SOLUTION
    y_pred, group = np.asarray(y_pred, dtype=np.float64), np.asarray(group)
    rates = [y_pred[group == g].mean() for g in np.unique(group)]
    return float(max(rates) - min(rates))
    ### END SOLUTION


def equalized_odds_difference(y_true, y_pred, group) -> float:
    """The larger of the between-group gaps in true-positive and false-positive rates.

    y_true, y_pred: (N,) labels and predictions in {0, 1}; group: (N,) int group ids, each
    group with positives and negatives. Returns max(TPR range, FPR range), each range
    max_g - min_g over the groups present, a float.
    """
    ### BEGIN SOLUTION
    y_true, y_pred, group = (
        np.asarray(y_true),
        np.asarray(y_pred, dtype=np.float64),
        np.asarray(group),
    )
    tpr, fpr = [], []
    for g in np.unique(group):
        in_g = group == g
        tpr.append(y_pred[in_g & (y_true == 1)].mean())
        fpr.append(y_pred[in_g & (y_true == 0)].mean())
    return float(max(max(tpr) - min(tpr), max(fpr) - min(fpr)))
    ### END SOLUTION
