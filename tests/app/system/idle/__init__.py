"""Tests of lattice_rt_tray.system.idle."""
