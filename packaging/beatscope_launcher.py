"""The frozen bundle's entry script (packaging/beatscope.spec): ``beatscope``'s console
entry point, as a file PyInstaller can start from.

Not ``app/beatscope/__main__.py``: PyInstaller puts an entry script's folder on the
search path, and ``app/beatscope/`` holds modules named like the standard library's
(``io``), which would then shadow it.
"""

from beatscope.cli.main import main

# Guarded like beatscope/__main__.py: the engine process and ``--jobs`` workers start
# (``spawn``) by running this executable again; main() calls
# multiprocessing.freeze_support() first, which serves them and exits.
if __name__ == "__main__":
    raise SystemExit(main())
