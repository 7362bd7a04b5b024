"""The core is Qt-free: every module outside ``beatscope.ui`` imports without Qt, so
the engine, the CLI, the review and the report run headless."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

CHILD = """
import importlib, pathlib, sys
sys.path.insert(0, {app!r})
root = pathlib.Path({app!r})
for path in sorted((root / "beatscope").rglob("*.py")):
    parts = path.relative_to(root).with_suffix("").parts
    if parts[1:2] == ("ui",) or parts[-1] == "__main__":
        continue  # (walk_packages would import beatscope.ui to look inside it)
    importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
qt = sorted(k for k in sys.modules if k.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6"))
print(" ".join(qt) or "none")
"""


def test_no_core_module_imports_qt():
    out = subprocess.run([sys.executable, "-c", CHILD.format(app=str(APP))],
                         capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "none", out.stdout
