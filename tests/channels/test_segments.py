"""SMS segments: GSM-7 or UCS-2, single or concatenated, characters never split."""

from __future__ import annotations

import pytest

from atende.channels.segments import SmsEncoding, count_segments


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", SmsEncoding.GSM_7, 1),
        ("a" * 160, SmsEncoding.GSM_7, 1),
        ("a" * 161, SmsEncoding.GSM_7, 2),
        ("a" * 306, SmsEncoding.GSM_7, 2),
        ("a" * 307, SmsEncoding.GSM_7, 3),
        ("€" * 80, SmsEncoding.GSM_7, 1),  # extension characters take two septets
        ("€" * 81, SmsEncoding.GSM_7, 2),
        ("a" * 152 + "€" * 77, SmsEncoding.GSM_7, 3),  # the escape pair is not split
        ("Pedido nº 42 às 14h", SmsEncoding.UCS_2, 1),  # º and s with accent are not GSM-7
        ("ã" * 70, SmsEncoding.UCS_2, 1),
        ("ã" * 71, SmsEncoding.UCS_2, 2),
        ("ã" * 134, SmsEncoding.UCS_2, 2),
        ("ã" * 135, SmsEncoding.UCS_2, 3),
        ("😀" * 35, SmsEncoding.UCS_2, 1),  # beyond the BMP: two code units
        ("😀" * 36, SmsEncoding.UCS_2, 2),
        ("Olá, tudo bem?", SmsEncoding.UCS_2, 1),
        ("Ola, tudo bem? Até já: Ñandú é à direita", SmsEncoding.UCS_2, 1),
        ("Hello {name} [ok] ~ | ^ \\", SmsEncoding.GSM_7, 1),
    ],
)
def test_count_segments(text: str, encoding: SmsEncoding, segments: int) -> None:
    counted = count_segments(text)
    assert (counted.encoding, counted.segments) == (encoding, segments)


def test_units() -> None:
    assert count_segments("a€").units == 3
    assert count_segments("ã😀").units == 3
