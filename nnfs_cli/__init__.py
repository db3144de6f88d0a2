"""nnfs: auto-graded exercises for learning neural networks from scratch."""

__version__ = "0.1.0"
