"""The Qt desktop viewer: renders :mod:`beatscope.display` state, forwards commands.

Importing this package imports Qt; the engine and the CLI never do.
"""
