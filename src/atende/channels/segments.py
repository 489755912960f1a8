"""How many SMS segments a text takes, as carriers (and Twilio's ``num_segments``) count.

A text that fits the GSM-7 alphabet is sent 7 bits a character: 160 characters in one
segment, 153 a segment once it is split (the rest of each segment holds the header that
joins them). Characters of the GSM-7 extension table (``€ [ ] { } ^ ~ | \\`` and form
feed) take two. A text with any other character is sent as UCS-2, 16 bits a code unit:
70 in one segment, 67 once split; characters beyond the Basic Multilingual Plane (most
emoji) take two units. A character is never split across two segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SmsEncoding(StrEnum):
    GSM_7 = "GSM-7"
    UCS_2 = "UCS-2"


GSM_7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_7_EXTENSION = frozenset("\f^{}\\[~]|€")

_LIMITS = {SmsEncoding.GSM_7: (160, 153), SmsEncoding.UCS_2: (70, 67)}


@dataclass(frozen=True)
class SegmentCount:
    encoding: SmsEncoding
    segments: int
    #: Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes.
    units: int


def encoding_for(text: str) -> SmsEncoding:
    gsm = GSM_7_BASIC | GSM_7_EXTENSION
    return SmsEncoding.GSM_7 if all(char in gsm for char in text) else SmsEncoding.UCS_2


def _units(char: str, encoding: SmsEncoding) -> int:
    if encoding is SmsEncoding.GSM_7:
        return 2 if char in GSM_7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def count_segments(text: str) -> SegmentCount:
    """Segments of an SMS with this body; an empty body (media only) is one segment."""
    encoding = encoding_for(text)
    single, multi = _LIMITS[encoding]
    sizes = [_units(char, encoding) for char in text]
    total = sum(sizes)
    if total <= single:
        return SegmentCount(encoding, 1, total)
    segments, filled = 1, 0
    for size in sizes:
        if filled + size > multi:
            segments, filled = segments + 1, 0
        filled += size
    return SegmentCount(encoding, segments, total)
