"""Errors of the document readers; each maps to ``attachment.unreadable``."""


class ReaderError(Exception):
    """Base class. ``str(err)`` is a short Chinese explanation fit for the reply."""


class UnreadableAttachment(ReaderError):
    """The file cannot be opened: corrupt, encrypted, empty, of an unknown type."""


class LimitExceeded(ReaderError):
    """The file is larger than the configured limits (pages, pixels, bytes, time)."""
