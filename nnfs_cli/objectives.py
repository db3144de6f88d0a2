"""Test functions that graders pass *to* learner code (e.g. a function to differentiate).

They live in an importable module because only plain data and importable functions can
cross into the sandboxed learner process.
"""
