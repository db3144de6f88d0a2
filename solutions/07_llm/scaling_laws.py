"""# Scaling laws: training FLOPs, power-law fits, compute-optimal model and data sizes

A language model's loss falls as a **power law** in its size, plus a floor no model of
any size gets under (the entropy of text itself):

    L(N) = a * N^(-alpha) + c          N parameters, a > 0, alpha > 0, c >= 0

(Kaplan et al. 2020 write (N_c / N)^alpha_N, the same law with a = N_c^alpha_N and c = 0;
Hoffmann et al. 2022 fit E + A / N^alpha + B / D^beta with E = 1.69, A = 406.4,
alpha = 0.34.)

**Fitting the law.** Subtract the irreducible loss, then take logs: the law becomes a
straight line in log N,

    log(L - c) = log a - alpha * log N

so the ordinary least-squares line (`fit_line`) through the points (x_i, y_i) =
(log N_i, log(L_i - c)), the line that minimises the squared *vertical* distances,

    slope = sum((x - mean x)(y - mean y)) / sum((x - mean x)^2)
    intercept = mean y - slope * mean x

gives **alpha = -slope, a = exp(intercept)**. Regressing x on y instead minimises the
horizontal distances: another line as soon as the points scatter; a line forced through
the origin (a design matrix without its column of ones) is another one again. The slope
does not depend on the base of the logarithm, but the intercept does: with np.log
(natural) for both x and y, a = exp(intercept); with log10, a = 10**intercept. Fitting L
itself (not its log) or forgetting to subtract c gives another law.

When c is unknown, `fit_power_law` finds it on a grid, exactly this way (any correct
implementation of it returns the same three numbers):

1. candidates c_k = min(L) * k / n_grid for k = 0, 1, ..., n_grid - 1 (so 0 <= c_k < min L
   and every L - c_k is positive);
2. for each c_k, the log-space least-squares fit above gives (a_k, alpha_k);
3. score it on L itself: SSE_k = sum_i (a_k * N_i^(-alpha_k) + c_k - L_i)^2;
4. return the (a_k, alpha_k, c_k) of the smallest SSE_k (the first one on an exact tie).

Scoring the candidates by their log-space residuals instead would compare numbers on
different scales (log(L - c) stretches as c nears min L): the grid is scored on L.

**Training compute.** A forward pass of a dense transformer costs about 2 FLOPs per
parameter per token (a multiply and an add per weight); the backward pass costs twice
the forward (gradients for the activations and for the weights). So training on D tokens
costs

    C_train ~= 6 N D  FLOPs,      and a forward pass alone (inference) ~= 2 N D

(Kaplan et al. 2020, section 2.1; attention's own FLOPs, ~2 n_layer n_ctx d per token,
are left out, as the papers do). Such counts overflow int64 (6 * 70e9 * 1.4e12 ~ 5.9e23
is far above 9.2e18): compute them as floats.

**Compute-optimal sizes** (Hoffmann et al. 2022, "Training Compute-Optimal Large Language
Models", "Chinchilla"). For a budget C, the loss is lowest when N and D grow together,
N_opt ∝ C^0.5 and D_opt ∝ C^0.5 (their approaches 1 and 2), which is a fixed number of
tokens per parameter, about 20. With C = 6 N D and D = r N:

    C = 6 r N^2   =>   N_opt = sqrt(C / (6 r)),   D_opt = r * N_opt

This reproduces their Table 3 (e.g. 1.21e20 FLOPs -> 1.0B parameters and 20.1B tokens;
the table says 1B and 20.2B) within 8%: the paper's fitted exponents are 0.50 only to two
decimals, so its ratio D / N drifts from 20 to 21.6 across the table (4% at most), and its
67B row rounds 1.43T tokens (5.76e23 / (6 * 67e9)) to 1.5T (7.6%).

## Conventions this exercise holds (the grader checks each)

- Every count is a float64 array (0-d for a scalar input): inputs may be Python ints,
  NumPy int64 arrays or floats, of any shapes that broadcast together.
- Natural logarithms (np.log) throughout the fit; alpha is returned **positive** (the law
  has N^(-alpha)).
- `fit_line` fits one line per column of a 2-D y (all on the same x): slopes and
  intercepts (M,); a 1-D y gives two numbers.
- `fit_power_law` returns Python floats or 0-d arrays, in the order (a, alpha, c); a given
  c is used as it is (it must be below min L) and returned unchanged.
- `compute_optimal` returns (N_opt, D_opt): parameters first, then tokens.
- NumPy is all you need (torch is allowed in this phase, but nothing here needs it). You
  may use np.linalg.lstsq for the straight line, but not a routine that fits it for you:
  `np.polyfit`, `np.polynomial` and SciPy (`curve_fit`, `linregress`) are refused; the
  line's slope and intercept are the exercise.
- Never modify an input in place.

Read: Kaplan et al. (2020), "Scaling laws for neural language models" (sections 2-3);
Hoffmann et al. (2022), "Training compute-optimal large language models" (sections 3-4,
Table 3).
"""

import numpy as np


def training_flops(n_params, n_tokens) -> np.ndarray:
    """FLOPs to train a dense transformer of n_params parameters on n_tokens tokens: 6 N D.

    n_params, n_tokens: numbers or arrays (ints or floats) that broadcast together.
    Returns a float64 array of the broadcast shape (0-d for two numbers).
    """
    ### BEGIN SOLUTION
    return 6.0 * np.asarray(n_params, dtype=np.float64) * np.asarray(n_tokens, dtype=np.float64)
    ### END SOLUTION


def inference_flops(n_params, n_tokens) -> np.ndarray:
    """FLOPs of forward passes alone (inference) over n_tokens tokens: 2 N D.

    n_params, n_tokens: numbers or arrays (ints or floats) that broadcast together.
    Returns a float64 array of the broadcast shape (0-d for two numbers).
    """
    ### BEGIN SOLUTION
    return 2.0 * np.asarray(n_params, dtype=np.float64) * np.asarray(n_tokens, dtype=np.float64)
    ### END SOLUTION


def fit_line(x, y) -> tuple:
    """The least-squares line y ~= slope * x + intercept (ordinary least squares, vertical distances).

    x: (K,) with K >= 2 values, not all equal.
    y: (K,) for one line, or (K, M) for M lines at once (one per column, all on the same x).
    Returns (slope, intercept): numbers for a (K,) y, arrays (M,) for a (K, M) y.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    xc = x - x.mean()
    slope = xc @ y / np.sum(xc**2)  # xc sums to 0, so y's own mean drops out
    intercept = y.mean(axis=0) - slope * x.mean()
    return slope, intercept
    ### END SOLUTION


def fit_power_law(N, L, c=None, n_grid: int = 1000) -> tuple:
    """Fit L = a * N^(-alpha) + c by least squares in log space; returns (a, alpha, c).

    N: (K,) model sizes > 0 (ints or floats), K >= 3, not all equal.
    L: (K,) losses, every L_i > c.
    c: the irreducible loss if known (a number < min L); None to find it on the grid
       c_k = min(L) * k / n_grid, k = 0 .. n_grid - 1, scored by the SSE on L itself
       (the lesson gives the four steps). Use your fit_line for each straight line.
    Returns three floats (a, alpha, c), alpha > 0 for a falling loss.
    """
    ### BEGIN SOLUTION
    N = np.asarray(N, dtype=np.float64)
    L = np.asarray(L, dtype=np.float64)
    # every candidate c at once: one column of log(L - c) per candidate, (K, candidates)
    cs = np.array([c], dtype=np.float64) if c is not None else L.min() * np.arange(n_grid) / n_grid
    slope, intercept = fit_line(np.log(N), np.log(L[:, None] - cs))
    a, alpha = np.exp(intercept), -slope
    sse = np.sum((a * N[:, None] ** (-alpha) + cs - L[:, None]) ** 2, axis=0)
    k = int(np.argmin(sse))  # the first of equal scores
    return float(a[k]), float(alpha[k]), float(cs[k])
    ### END SOLUTION


def compute_optimal(C, tokens_per_param: float = 20.0) -> tuple:
    """The compute-optimal model size and token count for a FLOP budget C (Chinchilla).

    C: a number or an array of budgets in FLOPs; tokens_per_param r = D / N.
    With C = 6 N D and D = r N: N_opt = sqrt(C / (6 r)), D_opt = r N_opt.
    Returns (N_opt, D_opt), float64 arrays of C's shape (0-d for a number).
    """
    ### BEGIN SOLUTION
    C = np.asarray(C, dtype=np.float64)
    n_opt = np.sqrt(C / (6.0 * tokens_per_param))
    return n_opt, tokens_per_param * n_opt
    ### END SOLUTION
