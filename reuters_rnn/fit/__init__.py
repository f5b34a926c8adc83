"""Fitting an entry: what a params entry is (a model, a baseline, an ensemble; one fit_predict
each), the networks and the training recipe, and what a training run keeps and shows."""
