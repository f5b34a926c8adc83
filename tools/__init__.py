"""Scripts around the pipeline that are not DVC stages: the project copy the tests use, whole_set/dvc.yaml's
generator, and a plot as a PNG."""
