"""The media module's refusals."""

from __future__ import annotations

from atende.errors import InvalidInput


class InvalidAttachment(InvalidInput):
    """A file the team attached cannot go on WhatsApp (its kind, size or number); nothing
    was stored or sent."""
