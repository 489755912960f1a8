"""Splitting a document into passages: Markdown-aware, headings kept as context, overlap.

A passage is what one search result shows and what the model reads, so it should answer
one question whole: a section of the document when the section is short, or a run of its
paragraphs up to ``MAX_WORDS`` when it is long. Every passage carries the headings above
it (``"Cardápio > Bolos"``): a customer asking about "bolo" finds the section titled so,
and the model knows what a bare "R$ 48,00" is the price of. Passages of one long section
overlap by its last sentence (up to ``OVERLAP_WORDS`` words), so an answer that straddles
a cut is still whole in one of them. Plain text is Markdown without headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Longest passage, in words (about 250 tokens): long enough for a section of prices,
#: short enough that a search result is about one thing.
MAX_WORDS = 160
#: A section shorter than this is merged with the next one under the same parent
#: heading only when it has no text of its own (a heading followed by a sub-heading).
OVERLAP_WORDS = 30
#: Longest heading context kept, in characters.
MAX_HEADING_CHARS = 300

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


@dataclass(frozen=True)
class Chunk:
    """One passage of a document, before it is embedded."""

    position: int
    heading: str
    content: str

    def text_to_embed(self) -> str:
        return f"{self.heading}\n{self.content}" if self.heading else self.content


@dataclass
class _Section:
    headings: list[str]
    paragraphs: list[str]


def split_document(title: str, text: str) -> list[Chunk]:
    """The passages of a document (Markdown or plain text), in order."""
    chunks: list[Chunk] = []
    for section in _sections(text):
        heading = _heading_context(title, section.headings)
        for content in _pack(section.paragraphs):
            chunks.append(Chunk(position=len(chunks), heading=heading, content=content))
    return chunks


def _sections(text: str) -> list[_Section]:
    """The document's sections: the headings above each and its paragraphs."""
    sections: list[_Section] = []
    stack: list[tuple[int, str]] = []
    current = _Section(headings=[], paragraphs=[])
    paragraph: list[str] = []
    in_fence = False

    def end_paragraph() -> None:
        if paragraph:
            joined = "\n".join(paragraph).strip()
            if joined:
                current.paragraphs.append(joined)
            paragraph.clear()

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
            paragraph.append(line)
            continue
        heading = None if in_fence else _HEADING.match(line)
        if heading is not None:
            end_paragraph()
            if current.paragraphs:
                sections.append(current)
            level, name = len(heading.group(1)), _inline(heading.group(2))
            stack = [(lvl, text) for lvl, text in stack if lvl < level]
            if name:
                stack.append((level, name))
            current = _Section(headings=[text for _lvl, text in stack], paragraphs=[])
            continue
        if not line.strip() and not in_fence:
            end_paragraph()
            continue
        paragraph.append(line.rstrip())
    end_paragraph()
    if current.paragraphs:
        sections.append(current)
    return sections


def _heading_context(title: str, headings: list[str]) -> str:
    """``Title > Heading > Sub-heading``, without repeating a title the document's first
    heading already says."""
    parts = list(headings)
    clean_title = " ".join(title.split())
    if clean_title and not (parts and _same(parts[0], clean_title)):
        parts.insert(0, clean_title)
    context = " > ".join(parts)
    return context[:MAX_HEADING_CHARS]


def _same(a: str, b: str) -> bool:
    return a.casefold().strip() == b.casefold().strip()


def _inline(text: str) -> str:
    """A heading's text without Markdown emphasis, links' targets or code marks."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_`]+", "", text)
    return " ".join(text.split())


def _words(text: str) -> int:
    return len(text.split())


def _pack(paragraphs: list[str]) -> list[str]:
    """Paragraphs joined into passages of at most ``MAX_WORDS`` words; a longer paragraph
    is cut at sentence ends; consecutive passages overlap by a sentence."""
    pieces: list[str] = []
    for paragraph in paragraphs:
        if _words(paragraph) <= MAX_WORDS:
            pieces.append(paragraph)
        else:
            pieces.extend(_split_long(paragraph))
    passages: list[str] = []
    current: list[str] = []
    count = 0
    for piece in pieces:
        size = _words(piece)
        if current and count + size > MAX_WORDS:
            passages.append("\n\n".join(current))
            overlap = _tail(current[-1])
            current, count = ([overlap], _words(overlap)) if overlap else ([], 0)
        current.append(piece)
        count += size
    if current:
        passages.append("\n\n".join(current))
    return passages


def _split_long(paragraph: str) -> list[str]:
    """A paragraph longer than ``MAX_WORDS``, cut at sentence ends (or, for a sentence
    longer than that, every ``MAX_WORDS`` words)."""
    pieces: list[str] = []
    current: list[str] = []
    count = 0
    for sentence in _SENTENCE_END.split(paragraph):
        words = sentence.split()
        while len(words) > MAX_WORDS:
            pieces.append(" ".join(words[:MAX_WORDS]))
            words = words[MAX_WORDS - OVERLAP_WORDS :]
        if current and count + len(words) > MAX_WORDS:
            pieces.append(" ".join(current))
            current, count = [], 0
        current.append(" ".join(words))
        count += len(words)
    if current:
        pieces.append(" ".join(current))
    return pieces


def _tail(piece: str) -> str:
    """The last sentence of a piece (at most ``OVERLAP_WORDS`` words), to repeat."""
    sentences = [s for s in _SENTENCE_END.split(piece.strip()) if s]
    if not sentences:
        return ""
    last = sentences[-1].split()
    if len(last) > OVERLAP_WORDS or len(sentences) == 1:
        return ""
    return " ".join(last)
