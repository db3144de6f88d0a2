"""Running learner code in a separate, limited process.

The grader (trusted: pytest, the reference, the comparisons) never runs learner code
itself. It asks a worker process to call a learner function on data and gets data back,
so nothing the learner's code does (patching numpy, exiting, hanging, crashing) can touch
the comparisons or the verdict.
"""
