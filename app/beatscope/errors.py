"""The one exception type that user-facing code turns into a one-line message."""


class BeatScopeError(Exception):
    """A problem with the user's input that deserves a clear, single-line message.

    Anything raised as a ``BeatScopeError`` is shown to the user as ``str(err)``
    without a traceback; any other exception is a bug.
    """


class RecordError(BeatScopeError):
    """A record cannot be read, or its content cannot be analysed."""


class CancelledError(BeatScopeError):
    """The user cancelled a long-running job."""
