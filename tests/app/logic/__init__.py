"""Tests of lattice_rt_tray.logic."""
