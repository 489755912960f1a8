"""The root of every error Atende raises on purpose.

Each module subclasses it beside the code that raises; the docstring of a subclass is
its default message, so ``raise SomethingFailed()`` still says something useful.
"""

from __future__ import annotations


class AtendeError(Exception):
    """Atende failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip() or type(self).__name__)

    @property
    def message(self) -> str:
        return str(self.args[0])


class ConfigurationError(AtendeError):
    """The settings are invalid."""
