"""Errors of the OCR layer. Every engine failure is one of these, never a bare exception.

``parsers`` maps them to ``attachment.unreadable`` (or a review) in one place.
"""


class OCRError(Exception):
    """Base class of the OCR layer."""


class EngineUnavailable(OCRError):
    """The engine is not installed (binary, language data or model missing)."""


class EngineTimeout(OCRError):
    """The engine did not answer within its time limit."""


class EngineFailed(OCRError):
    """The engine ran and failed; the message carries its own explanation."""


class ImageTooLarge(OCRError):
    """The image is larger than the engine or this layer accepts."""
