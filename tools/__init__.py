"""Helpers around the pipeline that are not DVC stages: a parallel runner and a project copier."""
