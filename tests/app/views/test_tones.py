"""Text colours readable on a light and on a dark palette."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from lattice_rt_tray.views.tones import DARK, LIGHT, is_dark, tone


def _luminance(colour: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    return (0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF())
            + 0.0722 * channel(colour.blueF()))


def contrast(a: QColor, b: QColor) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _palette(base: str) -> QPalette:
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Base, QColor(base))
    return palette


@pytest.mark.parametrize(("tones", "base"), [(LIGHT, "#ffffff"), (LIGHT, "#f5f5f5"),
                                             (DARK, "#1e1e1e"), (DARK, "#2d2d2d")])
def test_every_tone_is_readable_on_its_base(qapp, tones, base) -> None:
    # seen in a screenshot: the light theme's red and green were hard to read on dark
    for name, colour in tones.items():
        assert contrast(QColor(colour), QColor(base)) >= 4.5, (name, colour, base)


def test_the_palette_picks_the_variant(qapp) -> None:
    assert not is_dark(_palette("#ffffff")) and tone("failure", _palette("#ffffff")) == LIGHT[
        "failure"]
    assert is_dark(_palette("#1e1e1e")) and tone("ok", _palette("#1e1e1e")) == DARK["ok"]


def test_a_dark_application_palette_draws_the_activity_lists_failures_light(qapp) -> None:
    from lattice_rt_tray.views.activity_model import ActivityModel

    before = QApplication.palette()
    QApplication.setPalette(_palette("#1e1e1e"))
    try:
        model = ActivityModel()
        model.add_events([{"seq": 1, "area": "workflow", "event_type": "workflow_failed",
                           "payload": {"error": "disk full"}}], server="local")
        from PySide6.QtCore import Qt

        brush = model.index(0, 0).data(Qt.ItemDataRole.ForegroundRole)
        assert brush.color().name() == DARK["failure"]
    finally:
        QApplication.setPalette(before)
