"""``beatscope`` names the missing X11 libraries of Qt's xcb plugin instead of aborting."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from beatscope.ui import xcb_check
from beatscope.ui.xcb_check import (
    XCB_PLUGIN_LIBRARIES,
    missing_xcb_message,
    will_use_xcb,
)

X11_DESKTOP = {"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}
NOT_ON_A_FRESH_DESKTOP = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0"}


def fresh_desktop(soname: str) -> bool:
    return soname not in NOT_ON_A_FRESH_DESKTOP


def test_missing_libraries_are_all_named_with_the_apt_line():
    message = missing_xcb_message(X11_DESKTOP, "linux", fresh_desktop)
    assert message is not None and "\n" not in message
    for soname in NOT_ON_A_FRESH_DESKTOP:
        assert soname in message
    assert "sudo apt-get install -y libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in message


def test_nothing_said_when_every_library_is_there():
    assert missing_xcb_message(X11_DESKTOP, "linux", lambda soname: True) is None


@pytest.mark.parametrize("environ", [
    {"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"},
    {"QT_QPA_PLATFORM": "wayland"},
    {"WAYLAND_DISPLAY": "wayland-0"},
    {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"},  # Qt 6 takes Wayland first
    {},  # no display at all: `beatscope` says so itself
])
def test_not_checked_when_qt_will_not_use_xcb(environ):
    def must_not_be_asked(soname: str) -> bool:
        raise AssertionError(f"looked up {soname}")

    assert not will_use_xcb(environ, "linux")
    assert missing_xcb_message(environ, "linux", must_not_be_asked) is None


@pytest.mark.parametrize("environ", [
    X11_DESKTOP,
    {"DISPLAY": ":0"},
    {"QT_QPA_PLATFORM": "xcb"},
    {"QT_QPA_PLATFORM": "xcb:nograb;wayland", "WAYLAND_DISPLAY": "wayland-0"},
])
def test_checked_when_qt_will_use_xcb(environ):
    assert will_use_xcb(environ, "linux")


def test_not_checked_off_linux():
    assert not will_use_xcb(X11_DESKTOP, "darwin")
    assert not will_use_xcb(X11_DESKTOP, "win32")


def test_run_exits_with_status_1_before_qt_starts(monkeypatch, capsys):
    for name in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(xcb_check.sys, "platform", "linux")
    monkeypatch.setattr(xcb_check, "can_load", fresh_desktop)
    from beatscope.ui.app import run

    # A bad --size makes run() return 2 before Qt if the check ever let it through,
    # so a regression fails this test instead of aborting the test process in Qt.
    assert run(["--size", "not-a-size"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "libxcb-icccm.so.4" in err and "sudo apt-get install -y" in err


def test_the_table_covers_the_installed_plugin():
    """Every X11 library Qt's xcb glue asks for has a package in the table (a newer
    PySide6 may need one more)."""
    pyside = pytest.importorskip("PySide6")
    qpa = sorted(Path(pyside.__file__).parent.glob("Qt/lib/libQt6XcbQpa.so*"))
    if not sys.platform.startswith("linux") or not qpa:
        pytest.skip("no Linux xcb platform library in this PySide6")
    needed = set(re.findall(rb"lib(?:xcb[\w-]*|X11-xcb|xkbcommon(?:-x11)?)\.so\.\d+",
                            qpa[0].read_bytes()))
    assert needed, "no library names found in the plugin"
    assert {name.decode() for name in needed} <= set(XCB_PLUGIN_LIBRARIES)
