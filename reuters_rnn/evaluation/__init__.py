"""Scoring and comparing: the metrics, the statistical tests, the decision rule and the report."""
