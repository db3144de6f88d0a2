"""A correct alignment in another style: NumPy only, every gradient by its closed form (no
autograd), -log sigmoid as np.logaddexp, the sequence log-probs with a Python loop over the
scored positions and a hand-written log-sum-exp, PPO's gradient from the mask of tokens
where the unclipped term is the min, and the bias metrics from counts in dictionaries.
Results keep the inputs' dtype."""

import numpy as np


def reward_model_loss(r_chosen, r_rejected):
    m = np.asarray(r_chosen) - np.asarray(r_rejected)
    d_chosen = -np.exp(-np.logaddexp(0, m)) / len(m)  # -sigmoid(-m) / N, stably
    return float(np.logaddexp(0, -m).mean()), d_chosen.astype(m.dtype), (-d_chosen).astype(m.dtype)


def sequence_logprobs(logits, labels, response_mask):
    logits = np.asarray(logits)
    n, t, _ = logits.shape
    total = np.zeros(n, dtype=logits.dtype)
    for pos in range(1, t):
        row = logits[:, pos - 1]
        top = row.max(axis=1)
        lse = top + np.log(np.exp(row - top[:, None]).sum(axis=1))
        token = row[np.arange(n), np.asarray(labels)[:, pos]] - lse
        total = total + np.where(np.asarray(response_mask)[:, pos], token, 0)
    return total


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta):
    chosen_ratio = np.asarray(policy_chosen) - np.asarray(ref_chosen)
    rejected_ratio = np.asarray(policy_rejected) - np.asarray(ref_rejected)
    m = beta * chosen_ratio - beta * rejected_ratio
    d = (-beta * np.exp(-np.logaddexp(0, m)) / len(m)).astype(chosen_ratio.dtype)
    return float(np.mean(np.logaddexp(0, -m))), d, -d


def ppo_objective(logp_new, logp_old, logp_ref, advantages, epsilon, beta):
    new = np.asarray(logp_new)
    adv = np.asarray(advantages)
    r = np.exp(new - np.asarray(logp_old))
    unclipped, clipped = r * adv, np.clip(r, 1 - epsilon, 1 + epsilon) * adv
    d = np.asarray(logp_ref) - new
    objective = np.minimum(unclipped, clipped).mean() - beta * (np.exp(d) - d - 1).mean()
    live = unclipped <= clipped
    grad = (np.where(live, -unclipped, 0) + beta * (1 - np.exp(d))) / len(new)
    return float(-objective), grad.astype(new.dtype)


def _rates(y_pred, keep, group):
    hits, totals = {}, {}
    for p, k, g in zip(np.asarray(y_pred).tolist(), keep, np.asarray(group).tolist()):
        if k:
            hits[g] = hits.get(g, 0) + int(p)
            totals[g] = totals.get(g, 0) + 1
    return [hits[g] / totals[g] for g in totals]


def demographic_parity_difference(y_pred, group):
    rates = _rates(y_pred, [True] * len(y_pred), group)
    return max(rates) - min(rates)


def equalized_odds_difference(y_true, y_pred, group):
    y_true = np.asarray(y_true).tolist()
    tpr = _rates(y_pred, [y == 1 for y in y_true], group)
    fpr = _rates(y_pred, [y == 0 for y in y_true], group)
    return max(max(tpr) - min(tpr), max(fpr) - min(fpr))
