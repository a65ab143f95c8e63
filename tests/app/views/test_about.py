"""The About dialog: name, version, licence, and the third-party licences read off-thread."""

from __future__ import annotations

from lattice_rt_core.version import __version__
from lattice_rt_tray.logic.identity import APP_NAME
from lattice_rt_tray.system.licences import Licence
from lattice_rt_tray.views.about import AboutDialog


def test_about_names_the_app_its_version_and_licence(qtbot):
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == f"About {APP_NAME}"
    assert dialog.name.text() == APP_NAME
    assert dialog.version.text() == f"Version {__version__}"
    assert dialog.licence.text().startswith("Released under the MIT licence.")
    assert "Qt 6." in dialog.runtime.text() and "PySide6 6." in dialog.runtime.text()
    assert dialog.licences is None  # nothing is read until the licences tab is opened


def test_the_licences_tab_lists_every_package_with_its_text(qtbot):
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.licences_loaded, timeout=30_000):
        dialog.tabs.setCurrentIndex(1)
    assert dialog.licences is not None and len(dialog.licences) > 10
    items = [dialog.package_list.item(r).text() for r in range(dialog.package_list.count())]
    assert items[0].startswith("Python 3.") and any(i.startswith("starlette ") for i in items)
    assert dialog.licence_text.toPlainText() == dialog.licences[0].text
    assert dialog.licence_title.text() == f"Python {dialog.licences[0].version} — PSF-2.0"
    row = next(r for r, i in enumerate(items) if i.lower().startswith("pyside6"))
    dialog.package_list.setCurrentRow(row)
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in dialog.licence_text.toPlainText()
    dialog.tabs.setCurrentIndex(0)
    dialog.tabs.setCurrentIndex(1)  # read once
    assert dialog.package_list.count() == len(items)


def test_a_licence_that_cannot_be_read_is_said_in_words(qtbot):
    def broken() -> list[Licence]:
        raise OSError("permission denied: METADATA")

    dialog = AboutDialog(licences=broken)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.licences_loaded, timeout=10_000):
        dialog.load_licences()
    assert dialog.licence_text.toPlainText() == (
        "The licences could not be read: permission denied: METADATA")
    assert dialog.package_list.count() == 0
