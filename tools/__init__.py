"""Scripts around the pipeline that are not DVC stages: the experiments table (exp_table), the
project copy the tests use, whole_set/dvc.yaml's generator, the offline plots page, a plot as a
PNG, and the locks (lock.sh)."""
