"""Tests of lattice_rt_core.engines.redis."""
