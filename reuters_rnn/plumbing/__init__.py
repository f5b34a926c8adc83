"""What every stage shares: atomic writes, how a stage ends when it cannot finish, and the guard
that a stage's params and code did not change while it ran."""
