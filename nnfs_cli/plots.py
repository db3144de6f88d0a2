"""Figures of what a learner's code did: PNG files (matplotlib) and small terminal plots (plotext).

Graders put plottable data in a test's `report` as `{"figure": {...}}` (or a failing
convergence check leaves `{"curves": ...}`); this module draws whatever a result carries.
Kinds: "curves" (named loss curves), "boundary" (2-D points and a line), "filters" (a grid
of small images, e.g. a CNN's first-layer kernels), "heatmap" (a matrix with row and column
labels, e.g. an attention map).
"""

from __future__ import annotations

import re
from pathlib import Path

from nnfs_cli.grading.result import Result


def figure_specs(result: Result) -> list[dict]:
    specs = []
    for t in result.tests:
        if isinstance(t.extra.get("figure"), dict):
            specs.append(t.extra["figure"])
        elif t.extra.get("curves"):
            specs.append(
                {
                    "kind": "curves",
                    "title": t.extra.get("title", t.name),
                    "curves": t.extra["curves"],
                }
            )
    return specs


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "figure"


def save_figures(result: Result, outdir: Path) -> list[Path]:
    """Draw every figure a result carries as a PNG in `outdir`; returns the files."""
    return save_specs(figure_specs(result), outdir, result.topic)


def save_specs(specs: list[dict], outdir: Path, prefix: str) -> list[Path]:
    """Draw figure specs as PNG files `<prefix>-<title>.png` in `outdir`; returns the files."""
    if not specs:
        return []
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in specs:
        fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=110)
        if spec["kind"] == "curves":
            for label, ys in spec["curves"].items():
                ax.plot(range(1, len(ys) + 1), ys, label=label, linewidth=1.8 if label != "reference" else 1.2,
                        linestyle="--" if label == "reference" else "-")  # fmt: skip
            ax.set_xlabel(spec.get("xlabel", "epoch / step"))
            ax.set_ylabel(spec.get("ylabel", "loss"))
            if all(min(ys, default=1) > 0 for ys in spec["curves"].values()):
                ax.set_yscale("log")
        elif spec["kind"] == "boundary":
            import numpy as np

            X, y = np.asarray(spec["X"]), np.asarray(spec["y"])
            for label, marker in ((0, "o"), (1, "^")):
                pts = X[y == label]
                names = spec.get("labels") or ["class 0", "class 1"]
                ax.scatter(pts[:, 0], pts[:, 1], marker=marker, label=names[label], alpha=0.8)
            order = np.argsort(spec["line_x"])
            ax.plot(
                np.asarray(spec["line_x"])[order],
                np.asarray(spec["line_y"])[order],
                color="black",
                label="your boundary",
            )
            ax.set_ylim(X[:, 1].min() - 1, X[:, 1].max() + 1)
            ax.set_xlabel(spec.get("xlabel", "x1"))
            ax.set_ylabel(spec.get("ylabel", "x2"))
        elif spec["kind"] == "filters":
            plt.close(fig)
            fig = _filters(plt, spec)
            ax = None
        elif spec["kind"] == "heatmap":
            import numpy as np

            m = np.asarray(spec["matrix"], dtype=float)
            im = ax.imshow(m, cmap="viridis", aspect="auto")
            fig.colorbar(im, ax=ax, label=spec.get("value_label", "weight"))
            if spec.get("xticks"):
                ax.set_xticks(range(m.shape[1]), spec["xticks"], rotation=90)
            if spec.get("yticks"):
                ax.set_yticks(range(m.shape[0]), spec["yticks"])
            ax.set_xlabel(spec.get("xlabel", "key position"))
            ax.set_ylabel(spec.get("ylabel", "query position"))
        else:
            plt.close(fig)
            continue
        if ax is not None:
            ax.set_title(spec["title"])
            if ax.get_legend_handles_labels()[0]:
                ax.legend()
            if spec["kind"] in ("curves", "boundary"):
                ax.grid(alpha=0.3)
        path = outdir / f"{prefix}-{_slug(spec['title'])}.png"
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def terminal_plots(result: Result, width: int = 70, height: int = 15) -> list[str]:
    """Small text plots of the figures a result carries (for terminals)."""
    return terminal_specs(figure_specs(result), width, height)


def terminal_specs(specs: list[dict], width: int = 70, height: int = 15) -> list[str]:
    """Text renderings of curves and 2-D boundaries; other kinds are PNG only."""
    from nnfs_cli.checks import loss_plot

    out = []
    for s in specs:
        if s["kind"] == "curves":
            out.append(loss_plot(s["curves"], s["title"], width, height))
        elif s["kind"] == "boundary":
            out.append(_boundary_text(s, width, height))
    return [text for text in out if text]


def _boundary_text(spec: dict, width: int, height: int) -> str:
    """Two classes as 'o' and '^' and the boundary line, drawn with plotext."""
    try:
        import numpy as np
        import plotext as plt

        X, y = np.asarray(spec["X"], dtype=float), np.asarray(spec["y"])
        plt.clear_figure()
        plt.plotsize(width, height)
        plt.theme("clear")
        names = spec.get("labels") or ["class 0", "class 1"]
        for label, marker in ((0, "o"), (1, "^")):
            pts = X[y == label]
            plt.scatter(pts[:, 0].tolist(), pts[:, 1].tolist(), marker=marker, label=names[label])
        lx, ly = np.asarray(spec["line_x"], dtype=float), np.asarray(spec["line_y"], dtype=float)
        keep = (ly >= X[:, 1].min() - 1) & (ly <= X[:, 1].max() + 1)  # the plot's vertical range
        plt.plot(lx[keep].tolist(), ly[keep].tolist(), marker="dot", label="your boundary")
        plt.title(spec["title"])
        return re.sub(r"\x1b\[[0-9;]*m", "", plt.build())
    except Exception:  # a terminal plot is a nicety; the PNG has it all
        return ""


def _filters(plt, spec: dict):
    """A grid of kernels, each min-max scaled on its own, with a shared title."""
    import numpy as np

    kernels = np.asarray(spec["kernels"], dtype=float)  # (K, h, w)
    k = len(kernels)
    cols = min(8, k)
    rows = -(-k // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(1.2 * cols + 1, 1.2 * rows + 1), dpi=110, squeeze=False
    )
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < k:
            w = kernels[i]
            span = w.max() - w.min()
            ax.imshow((w - w.min()) / span if span else w * 0, cmap="gray")
            ax.set_title(f"{i}", fontsize=7)
    fig.suptitle(spec["title"])
    return fig
