"""Atende: an AI assistant on a business's WhatsApp number."""

__version__ = "0.1.0"
