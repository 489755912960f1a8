"""Files for the knowledge tests, made here: small PDFs (with text, and without) written
by hand, so no fixture file or PDF writer is needed."""

from __future__ import annotations


def pdf(*pages: str | None) -> bytes:
    """A PDF with one page per argument: its text in Helvetica (Latin-1), or an empty
    page (no text to extract: a scanned image, as far as extraction can tell)."""
    objects: list[bytes] = []
    page_ids = []
    font_id = 3
    next_id = 4
    bodies: list[tuple[int, bytes]] = []
    for text in pages:
        page_id, content_id = next_id, next_id + 1
        next_id += 2
        page_ids.append(page_id)
        lines = (text or "").split("\n") if text else []
        stream = (
            b"BT /F1 12 Tf 72 720 Td 14 TL "
            + b" ".join(b"(" + _escape(line).encode("latin-1") + b") Tj T*" for line in lines)
            + b" ET"
            if lines
            else b""
        )
        bodies.append(
            (
                page_id,
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
                b" /Resources << /Font << /F1 3 0 R >> >>"
                + (f" /Contents {content_id} 0 R".encode() if lines else b"")
                + b" >>",
            )
        )
        bodies.append(
            (content_id, b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        )
    kids = " ".join(f"{page} 0 R" for page in page_ids).encode()
    objects_by_id = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(page_ids),
        font_id: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
        b" /Encoding /WinAnsiEncoding >>",
    }
    objects_by_id.update(dict(bodies))
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects_by_id):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects_by_id[number] + b"\nendobj\n"
    xref = len(out)
    count = max(objects_by_id) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % count
    for number in range(1, count):
        out += b"%010d 00000 n \n" % offsets.get(number, 0)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref)
    del objects
    return bytes(out)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


MENU = """# Padaria Pão da Vila

Padaria de bairro desde 1998.

## Horário de funcionamento

Abrimos de segunda a sábado das 6h às 20h. Aos domingos abrimos das 7h às 13h.

## Bolos

O bolo de cenoura com cobertura de chocolate inteiro custa R$ 48,00.
A fatia de bolo custa R$ 9,00.

## Entrega

Entregamos num raio de 5 km. A taxa de entrega é R$ 7,00 até 2 km.

## Pagamento

Aceitamos Pix, cartões de débito e crédito e vale-refeição. Não aceitamos cheque.
"""
