"""The model search command (`python -m model_search run|report|best <space>`): a tool beside
the pipeline, not a DVC stage. It reuses the pipeline's library (`reuters_rnn`)."""
