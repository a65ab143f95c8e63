"""Tests against the real Lattice AI server (PyPI ltcai), each release in its own venv."""
