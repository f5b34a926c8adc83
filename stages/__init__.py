"""DVC stages of the Reuters RNN pipeline: one module per stage plus the modules they share."""
