"""Splitting documents into passages, and reading text out of what the team uploads."""

from __future__ import annotations

import pytest

from atende.knowledge.chunking import MAX_WORDS, split_document
from atende.knowledge.errors import InvalidDocument
from atende.knowledge.extraction import file_format, from_file, from_text, html_text
from tests.knowledge.documents import MENU, pdf


def test_markdown_is_split_by_section_with_its_headings() -> None:
    chunks = split_document("Padaria Pão da Vila", MENU)

    assert [chunk.heading for chunk in chunks] == [
        "Padaria Pão da Vila",
        "Padaria Pão da Vila > Horário de funcionamento",
        "Padaria Pão da Vila > Bolos",
        "Padaria Pão da Vila > Entrega",
        "Padaria Pão da Vila > Pagamento",
    ]
    assert chunks[2].content.startswith("O bolo de cenoura")
    assert chunks[2].text_to_embed().startswith("Padaria Pão da Vila > Bolos\n")
    assert [chunk.position for chunk in chunks] == list(range(5))


def test_the_title_leads_the_headings_unless_the_document_says_it_first() -> None:
    chunks = split_document("Cardápio", "## Bolos\n\nCenoura: R$ 48\n\n### Fatias\n\nR$ 9")
    assert [chunk.heading for chunk in chunks] == ["Cardápio > Bolos", "Cardápio > Bolos > Fatias"]


def test_long_sections_are_cut_with_overlap_and_code_fences_are_not_headings() -> None:
    sentences = " ".join(f"Regra número {n} do regulamento da loja." for n in range(120))
    text = f"# Regulamento\n\n```\n# não é um título\n```\n\n{sentences}"
    chunks = split_document("Regulamento", text)

    assert len(chunks) > 3
    assert all(len(chunk.content.split()) <= MAX_WORDS + 30 for chunk in chunks)
    assert "# não é um título" in chunks[0].content
    # Consecutive passages share a sentence, so nothing is cut in half.
    last_sentence = chunks[1].content.split(". ")[-1]
    assert last_sentence.rstrip(".") in chunks[2].content


def test_plain_text_is_split_into_paragraph_runs() -> None:
    chunks = split_document("Aviso", "Fechamos no Natal.\n\nAbrimos no Ano Novo.")
    assert [(chunk.heading, chunk.content) for chunk in chunks] == [
        ("Aviso", "Fechamos no Natal.\n\nAbrimos no Ano Novo.")
    ]


def test_an_empty_document_has_no_passages() -> None:
    assert split_document("Nada", "# Só um título\n\n") == []


def test_file_types_are_told_by_name_then_by_content_type() -> None:
    assert file_format("Cardápio.PDF", None) == "pdf"
    assert file_format("notas.md", "application/octet-stream") == "markdown"
    assert file_format(None, "text/html; charset=utf-8") == "html"
    assert file_format("planilha.xlsx", "text/plain") is None
    assert file_format("sem-extensao", "image/png") is None


def test_a_pdf_gives_its_pages_text() -> None:
    document = from_file(pdf("Primeira", "Segunda"), file_name="a.pdf", content_type=None)
    assert (document.content, document.source_format) == ("Primeira\n\nSegunda", "pdf")


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (pdf(None), "scan.pdf", "não tem texto que possa ser lido"),
        (b"%PDF-1.7 garbage", "broken.pdf", "parece corrompido"),
        (b"not a pdf", "fake.pdf", "parece corrompido"),
        (b"\xff\xfe\x00", "bad.txt", "UTF-8"),
        (b"   ", "blank.md", "não tem texto"),
        (b"<html><script>x</script></html>", "empty.html", "não tem texto"),
    ],
)
def test_unreadable_files_are_refused(data: bytes, name: str, says: str) -> None:
    with pytest.raises(InvalidDocument) as refused:
        from_file(data, file_name=name, content_type=None)
    assert says in refused.value.user_message
    assert refused.value.field == "file"


def test_typed_text_keeps_markdown_and_drops_nul_characters() -> None:
    assert from_text("# Título\x00\n\ntexto").content == "# Título\n\ntexto"
    with pytest.raises(InvalidDocument):
        from_text(" \n\t")


def test_html_becomes_markdown_ish_text() -> None:
    page = (
        "<h2>Entrega &amp; frete</h2><ul><li>Zona sul</li><li>Centro</li></ul>"
        "<p>Taxa: <b>R$ 7</b></p><style>.x{}</style>"
    )
    assert html_text(page) == "## Entrega & frete\n\n- Zona sul\n- Centro\n\nTaxa: R$ 7"
