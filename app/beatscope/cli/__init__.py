"""Command-line interface: ``beatscope analyze``, ``beatscope evaluate``."""
