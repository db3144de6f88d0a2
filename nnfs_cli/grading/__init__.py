"""Grading: a topic's pytest grader run against a submission, its outcome as data."""
