"""What the ``lattice-rt`` commands share, and the account commands."""
