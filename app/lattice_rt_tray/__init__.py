"""Lattice realtime tray app."""
