"""A document's text, from what the team hands in: typed text, or an uploaded file.

Limits (README and docs/api.md say them too):

- text typed or uploaded (plain text, Markdown, HTML): up to ``MAX_TEXT_BYTES`` (2 MB of
  UTF-8, about a 1,000-page book); a file must be UTF-8 (a byte-order mark is fine).
- PDF: up to ``MAX_PDF_BYTES`` (10 MB), with text to extract (a scanned image has none:
  OCR is not done), at most ``MAX_PDF_PAGES`` pages, not password-protected.
- the text extracted from any of them: up to ``MAX_TEXT_BYTES`` too.

Everything here is checked before anything is stored: a refusal is an
:class:`InvalidDocument` naming the field and saying why in pt-BR.
"""

from __future__ import annotations

import html
import io
import logging
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from atende.knowledge.errors import InvalidDocument

logger = logging.getLogger("atende.knowledge.extraction")

MAX_TEXT_BYTES = 2_000_000
MAX_PDF_BYTES = 10_000_000
MAX_PDF_PAGES = 1_000
MAX_TITLE = 200
MAX_FILE_NAME = 255

#: What an upload may be, by file name extension, and the format it is stored as.
FORMATS_BY_EXTENSION = {
    ".pdf": "pdf",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
}
#: The same, by content type, for a file whose name says nothing.
FORMATS_BY_CONTENT_TYPE = {
    "application/pdf": "pdf",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
    "text/html": "html",
}


@dataclass(frozen=True)
class DocumentText:
    """A document as it is stored: its text and where it came from."""

    content: str
    source_format: str
    file_name: str | None = None


def clean_title(title: str | None, *, field: str = "title") -> str:
    text = " ".join((title or "").split())
    if not text:
        raise InvalidDocument(field, "Informe o título do documento.")
    if len(text) > MAX_TITLE:
        raise InvalidDocument(field, f"Use no máximo {MAX_TITLE} caracteres no título.")
    return text


def from_text(content: str, *, field: str = "content") -> DocumentText:
    """Text typed by the team (plain or Markdown)."""
    return DocumentText(content=_checked_text(content, field), source_format="markdown")


def from_file(
    data: bytes, *, file_name: str | None, content_type: str | None, field: str = "file"
) -> DocumentText:
    """An uploaded file's text. Blocking (a PDF takes a while): run it in a thread."""
    name = (file_name or "").strip()[:MAX_FILE_NAME] or None
    source_format = file_format(name, content_type)
    if source_format is None:
        raise InvalidDocument(
            field,
            "Tipo de arquivo não aceito. Envie um PDF, Markdown (.md), texto (.txt) ou HTML.",
        )
    if source_format == "pdf":
        if len(data) > MAX_PDF_BYTES:
            raise InvalidDocument(
                field, f"O PDF passa de {MAX_PDF_BYTES // 1_000_000} MB. Envie um arquivo menor."
            )
        text = pdf_text(data, field=field)
    else:
        if len(data) > MAX_TEXT_BYTES:
            raise InvalidDocument(
                field,
                f"O arquivo passa de {MAX_TEXT_BYTES // 1_000_000} MB. Envie um arquivo menor.",
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidDocument(
                field, "O arquivo não está em UTF-8. Salve-o como UTF-8 e envie de novo."
            ) from None
        if source_format == "html":
            text = html_text(text)
    return DocumentText(
        content=_checked_text(text, field, extracted=True),
        source_format=source_format,
        file_name=name,
    )


def file_format(file_name: str | None, content_type: str | None) -> str | None:
    """``pdf``, ``markdown``, ``text`` or ``html``; ``None`` for anything else."""
    if file_name:
        lowered = file_name.lower()
        for extension, kind in FORMATS_BY_EXTENSION.items():
            if lowered.endswith(extension):
                return kind
        if "." in lowered.rsplit("/", 1)[-1]:
            return None  # an extension that is none of ours
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return FORMATS_BY_CONTENT_TYPE.get(media_type)


def _checked_text(text: str, field: str, *, extracted: bool = False) -> str:
    # Postgres text cannot hold NUL; PDFs' text sometimes has it.
    text = text.replace("\x00", "")
    if not text.strip():
        if extracted:
            raise InvalidDocument(field, "O arquivo não tem texto.")
        raise InvalidDocument(field, "O conteúdo do documento está vazio.")
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_TEXT_BYTES:
        raise InvalidDocument(
            field,
            f"O texto passa de {MAX_TEXT_BYTES // 1_000_000} MB. Divida-o em documentos menores.",
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidDocument(field, "O texto tem caracteres inválidos.") from None
    return text


def pdf_text(data: bytes, *, field: str = "file") -> str:
    """The text of a PDF's pages, a page after another (pypdf)."""
    from pypdf import PdfReader  # noqa: PLC0415 - only documents need it
    from pypdf.errors import PdfReadError  # noqa: PLC0415

    unreadable = InvalidDocument(
        field, "Não foi possível ler o PDF: o arquivo parece corrompido ou não é um PDF."
    )
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise unreadable
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidDocument(field, "O PDF está protegido por senha. Envie-o sem senha.")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise InvalidDocument(field, f"O PDF passa de {MAX_PDF_PAGES} páginas.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except InvalidDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as error:
        logger.info("unreadable PDF: %s", type(error).__name__)
        raise unreadable from None
    except Exception as error:  # pypdf raises many kinds on malformed files
        logger.info("unreadable PDF: %s", type(error).__name__)
        raise unreadable from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text.strip():
        raise InvalidDocument(
            field,
            "O PDF não tem texto que possa ser lido (parece uma imagem escaneada). "
            "Envie um PDF com texto ou cole o conteúdo.",
        )
    return text


class _HTMLText(HTMLParser):
    """An HTML page as Markdown-ish text: headings as ``#`` lines, paragraphs and list
    items on lines of their own, scripts and styles left out."""

    _BLOCKS = frozenset(
        {"p", "div", "section", "article", "header", "footer", "main", "aside", "ul", "ol"}
        | {"table", "tr", "br", "hr", "blockquote", "pre", "dl", "dt", "dd", "form", "nav"}
    )
    _SKIPPED = frozenset({"script", "style", "noscript", "template", "head", "svg"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in self._BLOCKS:
            self.parts.append("\n\n" if tag not in {"br", "tr"} else "\n")
        elif tag in {"td", "th"}:
            self.parts.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif re.fullmatch(r"h[1-6]", tag) or tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_text(page: str) -> str:
    parser = _HTMLText()
    parser.feed(page)
    parser.close()
    text = html.unescape("".join(parser.parts))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
