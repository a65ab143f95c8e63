"""Lattice realtime core."""
