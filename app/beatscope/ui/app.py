"""``beatscope [RECORD] [--screenshot PNG]``: start the desktop viewer."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from beatscope.ui.xcb_check import missing_xcb_message

#: A headless ``--screenshot`` run must not wait on a stuck analysis forever.
SCREENSHOT_TIMEOUT_S = 900
#: When set, print how long after the process started the main window was first
#: painted, and exit: how packaging/README.md's start times are measured.
STARTUP_PROBE_ENV = "BEATSCOPE_STARTUP_PROBE"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="beatscope",
        description="BeatScope ECG review workstation. Without a command it opens the "
                    "viewer; `beatscope analyze|evaluate|train --help` for the headless tools.")
    p.add_argument("record", nargs="?", type=Path, metavar="RECORD",
                   help="record to open (.hea/.edf/.bdf/.ecg (ISHNE)/.dcm/"
                        ".xml (aECG, MUSE, Philips)/.csv/.mat)")
    p.add_argument("--screenshot", type=Path, metavar="PNG",
                   help="render the window once the analysis has finished, save it, exit")
    p.add_argument("--goto", metavar="TIME", help="show the strip from TIME (hh:mm:ss)")
    p.add_argument("--size", default="1500x920", metavar="WxH",
                   help="window size (default 1500x920)")
    p.add_argument("--weights", type=Path, metavar="DIR",
                   help="beat-classifier weight set (default: the shipped production set)")
    return p


def _has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM"))


def _process_age_s() -> float | None:
    """Seconds since this process started (Linux, in /proc's 10 ms ticks), else None."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _exit_after_first_paint(app, window) -> None:
    """Quit once ``window`` has been painted, printing when (``$BEATSCOPE_STARTUP_PROBE``).

    On the first paint event of any of its widgets; the report waits for the event loop's
    next turn, after the rest of that paint pass, i.e. when the window is on screen.
    """
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QWidget

    def report() -> None:
        age = _process_age_s()
        since_start = f"{age:.3f} s after process start" if age is not None else "?"
        print(f"beatscope: first paint {since_start} (epoch {time.time():.3f})",
              file=sys.stderr, flush=True)
        window.close()
        app.quit()

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
            if (event.type() == QEvent.Type.Paint and isinstance(obj, QWidget)
                    and obj.window() is window):
                app.removeEventFilter(self)
                QTimer.singleShot(0, report)
            return False

    window._first_paint_probe = FirstPaint(window)  # kept alive with the window
    app.installEventFilter(window._first_paint_probe)


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.screenshot is not None and not _has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    if not _has_display():
        print("beatscope: error: no display (DISPLAY is not set); use `beatscope analyze` "
              "headless, or --screenshot PNG", file=sys.stderr)
        return 2
    missing_xcb = missing_xcb_message()
    if missing_xcb is not None:  # Qt would abort (status 134) naming only one of them
        print(f"beatscope: error: {missing_xcb}", file=sys.stderr)
        return 1
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"beatscope: error: --size must look like 1500x920, not {args.size!r}",
              file=sys.stderr)
        return 2
    goto = None
    if args.goto is not None:
        from beatscope.display import parse_clock

        try:
            goto = parse_clock(args.goto)
        except ValueError as err:
            print(f"beatscope: error: {err}", file=sys.stderr)
            return 2

    logging.basicConfig(level=logging.INFO, format="beatscope: %(message)s")
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from beatscope.resources_location import ICON_SIZES, icon_path
    from beatscope.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("BeatScope")
    app.setOrganizationName("BeatScope")
    app.setDesktopFileName("beatscope")  # Wayland: this window is beatscope.desktop's
    icon = QIcon()  # the PNGs, not the SVG: that would need Qt's svg icon-engine plugin
    for size in ICON_SIZES:
        icon.addFile(str(icon_path(size)))
    app.setWindowIcon(icon)
    window = MainWindow(weights=args.weights)
    window.resize(width, height)
    if os.environ.get(STARTUP_PROBE_ENV):
        _exit_after_first_paint(app, window)
    window.show()
    status = {"code": 0}

    if args.record is not None:
        if goto is not None:
            # after the window's own handler (connected first), which lays out the strip
            window.runner.loaded.connect(
                lambda *_: window.strip.show_window(goto, window._span()))
        window.open_path(args.record)
    if args.screenshot is not None:
        def save() -> None:
            app.processEvents()
            window.strip.refresh()
            app.processEvents()
            if not window.grab().save(str(args.screenshot)):
                print(f"beatscope: error: cannot write {args.screenshot}", file=sys.stderr)
                status["code"] = 1
            window.close()
            app.quit()

        def failed(message: str) -> None:
            print(f"beatscope: error: {message}", file=sys.stderr)
            status["code"] = 1
            QTimer.singleShot(300, save)

        def timed_out() -> None:
            print("beatscope: error: analysis did not finish in time", file=sys.stderr)
            status["code"] = 1
            save()

        window.analysis_finished.connect(lambda: QTimer.singleShot(300, save))
        window.error_shown.connect(failed)
        QTimer.singleShot(SCREENSHOT_TIMEOUT_S * 1000, timed_out)
        if args.record is None:
            QTimer.singleShot(300, save)
    code = app.exec()
    return status["code"] or code
