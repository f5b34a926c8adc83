"""The DVC stage commands, one module each (`python -m stages.<stage>`), peers as in `dvc dag`:
a stage module never imports another one; what they share lives in `reuters_rnn`."""
