"""Before Qt starts on X11: are the system libraries of its xcb platform plugin there?

Qt 6 aborts (SIGABRT, exit status 134) when it cannot load ``libqxcb.so``, and its
message names only ``libxcb-cursor0``, although a fresh Debian or Ubuntu desktop
also lacks ``libxcb-icccm4`` and ``libxcb-keysyms1``. Looking the libraries up
first lets ``beatscope`` name every missing package and exit with an ordinary error.
No Qt is imported here: the check must run before Qt can abort.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

#: The NEEDED entries of PySide6's ``plugins/platforms/libqxcb.so`` and
#: ``lib/libQt6XcbQpa.so.6`` (``readelf -d``, PySide6 6.11) that no Qt wheel ships,
#: leaving out libc, libstdc++, OpenGL, GLib and X11 itself (any desktop has
#: those), with the Debian/Ubuntu package of each.
XCB_PLUGIN_LIBRARIES: Mapping[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def will_use_xcb(environ: Mapping[str, str] | None = None,
                 platform: str | None = None) -> bool:
    """Will Qt pick its xcb (X11) plugin? Only then do its libraries matter.

    ``QT_QPA_PLATFORM`` decides when set (its first choice of a ``;`` list, before
    any ``:options``). Unset, Qt 6 prefers Wayland whenever a Wayland session is
    there and takes xcb only on a plain X11 display; in doubt this says no, so
    the check never stops a start that Qt would have managed.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return False
    requested = environ.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        return requested.split(";")[0].split(":")[0].strip() == "xcb"
    wayland_session = bool(environ.get("WAYLAND_DISPLAY")) or \
        environ.get("XDG_SESSION_TYPE") == "wayland"
    return bool(environ.get("DISPLAY")) and not wayland_session


def can_load(soname: str) -> bool:
    """Does the dynamic loader find ``soname``, as it will when Qt loads the plugin?"""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_libraries(loadable: Callable[[str], bool] | None = None) -> list[str]:
    """The xcb plugin's system libraries (sonames) that ``loadable`` (default
    :func:`can_load`, looked up at call time so tests can replace it) cannot load."""
    loadable = can_load if loadable is None else loadable
    return [soname for soname in XCB_PLUGIN_LIBRARIES if not loadable(soname)]


def install_command(sonames: list[str]) -> str:
    """The apt-get line that installs the packages of ``sonames``."""
    packages = sorted({XCB_PLUGIN_LIBRARIES[soname] for soname in sonames})
    return "sudo apt-get install -y " + " ".join(packages)


def missing_xcb_message(environ: Mapping[str, str] | None = None,
                        platform: str | None = None,
                        loadable: Callable[[str], bool] | None = None) -> str | None:
    """One line naming the missing libraries and the command that installs them;
    None when Qt will not use xcb or nothing is missing."""
    if not will_use_xcb(environ, platform):
        return None
    missing = missing_libraries(loadable)
    if not missing:
        return None
    return (f"Qt's X11 (xcb) platform plugin needs system libraries that are not "
            f"installed: {', '.join(missing)}; install them with "
            f"`{install_command(missing)}` (or run headless: `beatscope analyze`)")
