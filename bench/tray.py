"""Figures 5 and 6: the tray app (placeholder until the app lands)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .plan import Plan


def run_tray(plan: Plan, log_dir: Path) -> dict[str, Any]:
    raise RuntimeError("the tray app (lattice_rt_tray.main) is not there yet")


def run_flood(plan: Plan, log_dir: Path) -> dict[str, Any]:
    raise RuntimeError("the tray app (lattice_rt_tray.main) is not there yet")
