"""Tests of lattice_rt_core.auth.callers."""
