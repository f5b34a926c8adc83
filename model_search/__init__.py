"""The model search command (`reuters-search run|report|best|compare <space>`, also `python -m
model_search`): a tool beside the pipeline, not a DVC stage. It reuses the pipeline's library
(`reuters_rnn`): each trial's folds are fitted by the entry's own fit_predict."""

import warnings

import optuna

# In every process of a search (its workers are spawned: they import this package, not the
# command's module). Heartbeats and the retry of a dead worker's trial are marked experimental by
# Optuna; they are what distributed search needs, so that notice is not repeated to every user.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
optuna.logging.set_verbosity(optuna.logging.ERROR)  # a line per trial instead (and Ctrl-C once)
