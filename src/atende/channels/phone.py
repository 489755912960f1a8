"""Phone numbers as channels and contacts store them: E.164 (``+5511987654321``)."""

from __future__ import annotations

import phonenumbers

from atende.errors import AtendeError

#: The region assumed for numbers written without a country code (``11 98765-4321``).
DEFAULT_REGION = "BR"


class InvalidPhoneNumber(AtendeError):
    """Not a valid phone number."""


def normalize_phone_number(text: str, default_region: str = DEFAULT_REGION) -> str:
    """``text`` in E.164; numbers without ``+`` are read as ``default_region``'s.

    Accepts what people type (spaces, dashes, parentheses, a ``whatsapp:`` prefix).
    Raises ``InvalidPhoneNumber`` for anything that is not a valid number.
    """
    candidate = text.strip().removeprefix("whatsapp:").strip()
    if not candidate or len(candidate) > 40:
        raise InvalidPhoneNumber()
    try:
        parsed = phonenumbers.parse(candidate, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber() from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber()
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
