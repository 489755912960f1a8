"""Embedders: text in, vectors out, for the knowledge base's similarity search.

``ATENDE_EMBEDDINGS`` chooses one (``embedder_from_settings``):

- ``local`` (the default when ``OPENAI_API_KEY`` is unset): :class:`LocalEmbedder`, built
  in and offline. It needs no download at run time: its token vectors are WordLlama's
  ``l2_supercat`` 256-dimension table and tokenizer, which the ``wordllama`` wheel ships
  (MIT licence). WordLlama's own loader is not used: it configures the root logger when
  imported and looks for the tokenizer in the wrong folder without a network. To the
  mean of the text's token vectors (accents folded, lower case, Portuguese function
  words left out) it adds 512 dimensions of hashed character 3- and 4-grams of its
  words, so that "cenora" still meets "cenoura" and "qnto" meets nothing wrong: customer
  messages are short, colloquial and misspelled. 768 dimensions, unit length; cosine
  similarity is a dot product.
- any other value: the name of an OpenAI-compatible embeddings model
  (``text-embedding-3-small``), asked through the official ``openai`` client at
  ``OPENAI_BASE_URL`` with ``OPENAI_API_KEY`` (:class:`OpenAIEmbedder`).

Each passage records its embedder's ``name``; a search compares a query only with the
passages the same embedder made, and ``atende knowledge reindex`` re-embeds the others.
Failures come out typed: :class:`TransientEmbeddingError` (try again later) or
:class:`PermanentEmbeddingError` (the same request will fail again).
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import re
import threading
import unicodedata
import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atende.config import Settings
from atende.knowledge.errors import (
    EmbeddingError,
    PermanentEmbeddingError,
    TransientEmbeddingError,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

#: ``ATENDE_EMBEDDINGS`` naming the built-in embedder.
LOCAL = "local"
#: The model used when ``OPENAI_API_KEY`` is set and ``ATENDE_EMBEDDINGS`` is not.
DEFAULT_OPENAI_MODEL = "text-embedding-3-small"
#: Texts sent in one embeddings request (OpenAI accepts up to 2,048).
BATCH_SIZE = 64

Vector = list[float]


class Embedder(ABC):
    """Turns texts into vectors of one fixed size. One per process; safe to share."""

    #: Stored with each passage: which embedder (and version of it) made the vector.
    name: str

    @abstractmethod
    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        """One unit vector per text, in order. Raises :class:`EmbeddingError`."""

    async def embed_one(self, text: str) -> Vector:
        return (await self.embed([text]))[0]

    async def close(self) -> None:  # noqa: B027 - most embedders hold nothing
        """Release what the embedder holds (connections)."""


def embedder_from_settings(settings: Settings) -> Embedder:
    """The embedder ``ATENDE_EMBEDDINGS`` names (see the module's docstring)."""
    choice = settings.embeddings
    if choice is None:
        choice = DEFAULT_OPENAI_MODEL if settings.openai_api_key is not None else LOCAL
    if choice == LOCAL:
        return LocalEmbedder()
    return OpenAIEmbedder.from_settings(settings, model=choice)


# -- the built-in embedder ----------------------------------------------------------------

#: Words that say little about what a customer asks: left out of the token mean (the
#: character n-grams skip words of two letters or fewer anyway). Accents folded.
PORTUGUESE_FUNCTION_WORDS = frozenset(
    """
    a o as os um uma uns umas de do da dos das em no na nos nas num numa por pelo pela
    pelos pelas pra pro pras pros para com sem e ou que q se eu vc vcs voce voces me te
    meu minha meus minhas seu sua seus suas tem ta to e ai la aqui isso esse essa este
    esta como qual quais quando onde ja nao n mais muito mt tb tbm ser estar fica ficou
    ate oi ola bom boa dia tarde noite obrigado obrigada gostaria queria quero qria
    preciso saber favor por
    """.split()  # noqa: SIM905 - a list of words reads better as words
)

#: Colloquial spellings and abbreviations of Brazilian WhatsApp, as the words they stand for.
COLLOQUIAL = {
    "vc": "voce",
    "vcs": "voces",
    "q": "que",
    "pq": "porque",
    "tb": "tambem",
    "tbm": "tambem",
    "hj": "hoje",
    "qnto": "quanto",
    "qnt": "quanto",
    "qto": "quanto",
    "qta": "quanta",
    "qnts": "quantos",
    "qtos": "quantos",
    "qtas": "quantas",
    "hr": "hora",
    "hrs": "horas",
    "msg": "mensagem",
    "td": "tudo",
    "blz": "beleza",
    "cmg": "comigo",
    "fds": "fim de semana",
    "sab": "sabado",
    "dom": "domingo",
    "seg": "segunda",
    "kilo": "quilo",
    "kg": "quilo",
    "ctz": "certeza",
    "agr": "agora",
    "dps": "depois",
    "vlw": "valeu",
    "mto": "muito",
    "mta": "muita",
    "ngm": "ninguem",
    "cel": "celular",
    "end": "endereco",
    "ta": "esta",
}

_WORD = re.compile(r"\w+")
_WORDLLAMA_WEIGHTS = ("weights", "l2_supercat_256.safetensors")
_WORDLLAMA_TOKENIZER = ("tokenizers", "l2_supercat_tokenizer_config.json")
TOKEN_DIMENSIONS = 256
NGRAM_DIMENSIONS = 512


def fold(text: str) -> str:
    """Lower case without accents: "Promoção" -> "promocao"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words_of(text: str) -> list[str]:
    """The folded words of a text, colloquial spellings expanded ("qnto" -> "quanto")."""
    expanded: list[str] = []
    for word in _WORD.findall(fold(text)):
        expanded.extend(COLLOQUIAL.get(word, word).split())
    return expanded


def _wordllama_dir() -> Path:
    """The installed ``wordllama`` package's folder, found without importing it."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise PermanentEmbeddingError(
            "the local embedder needs the wordllama package (pip install wordllama)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


class LocalEmbedder(Embedder):
    """The built-in offline embedder (see the module's docstring). Its tables load on
    first use, in a thread; embedding runs in a thread too (numpy releases the GIL)."""

    name = f"local:wordllama-l2-supercat-{TOKEN_DIMENSIONS}+char-ngrams-{NGRAM_DIMENSIONS}:v1"
    dimensions = TOKEN_DIMENSIONS + NGRAM_DIMENSIONS

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table: NDArray[np.float32] | None = None
        self._tokenizer: Any = None

    def _load(self) -> tuple[NDArray[np.float32], Any]:
        with self._lock:
            if self._table is None:
                import numpy as np  # noqa: PLC0415 - numpy and tokenizers load on first use
                from safetensors import safe_open  # noqa: PLC0415
                from tokenizers import Tokenizer  # noqa: PLC0415

                folder = _wordllama_dir()
                with safe_open(str(folder.joinpath(*_WORDLLAMA_WEIGHTS)), "np") as weights:
                    table = weights.get_tensor("embedding.weight")
                tokenizer = Tokenizer.from_file(str(folder.joinpath(*_WORDLLAMA_TOKENIZER)))
                tokenizer.no_padding()
                tokenizer.no_truncation()
                self._tokenizer = tokenizer
                self._table = np.ascontiguousarray(table, dtype=np.float32)
            return self._table, self._tokenizer

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        if len(texts) == 1 and len(texts[0]) < 2000 and self._table is not None:
            return self.embed_now(texts)  # a short query: quicker than a thread hop
        return await asyncio.to_thread(self.embed_now, texts)

    def embed_now(self, texts: Sequence[str]) -> list[Vector]:
        """``embed``, in the calling thread."""
        import numpy as np  # noqa: PLC0415

        table, tokenizer = self._load()
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            words = words_of(text)
            content = [w for w in words if w not in PORTUGUESE_FUNCTION_WORDS] or words
            ids = tokenizer.encode(" ".join(content), add_special_tokens=False).ids
            if ids:
                mean = table[np.asarray(ids, dtype=np.int64)].mean(axis=0)
                norm = float(np.linalg.norm(mean))
                if norm > 0:
                    vectors[row, :TOKEN_DIMENSIONS] = mean / norm
            grams = _ngram_vector(content)
            if grams is not None:
                vectors[row, TOKEN_DIMENSIONS:] = grams
            norm = float(np.linalg.norm(vectors[row]))
            if norm > 0:
                vectors[row] /= norm
        return [[float(x) for x in vector] for vector in vectors]


def _ngram_vector(words: Sequence[str]) -> Any:
    """Character 3- and 4-grams of the words (bounded by < and >), hashed with signs into
    ``NGRAM_DIMENSIONS`` buckets, unit length; ``None`` for no word of 3+ letters."""
    import numpy as np  # noqa: PLC0415

    vector = np.zeros(NGRAM_DIMENSIONS, dtype=np.float32)
    for word in words:
        if len(word) <= 2:
            continue
        bounded = f"<{word}>"
        for size in (3, 4):
            for start in range(len(bounded) - size + 1):
                digest = zlib.crc32(bounded[start : start + size].encode())
                vector[digest % NGRAM_DIMENSIONS] += 1.0 if (digest >> 16) & 1 else -1.0
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else None


# -- an OpenAI-compatible embeddings model ------------------------------------------------


class OpenAIEmbedder(Embedder):
    """An embeddings model behind an OpenAI-compatible API, through the official client
    (no retries of its own: the indexing job retries transient failures with backoff)."""

    def __init__(
        self, *, model: str, api_key: str | None, base_url: str | None, timeout_seconds: float
    ) -> None:
        from openai import AsyncOpenAI  # noqa: PLC0415 - slow to import; only when used

        self.model = model
        self.name = f"openai:{model}"
        self._api_key = api_key
        self._client = AsyncOpenAI(
            api_key=api_key or "not-needed",
            base_url=base_url or "https://api.openai.com/v1",
            timeout=timeout_seconds,
            max_retries=0,
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, model: str) -> OpenAIEmbedder:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return cls(
            model=model,
            api_key=key,
            base_url=settings.openai_base_url,
            timeout_seconds=settings.model_timeout_seconds,
        )

    async def close(self) -> None:
        await self._client.close()

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        import openai  # noqa: PLC0415

        vectors: list[Vector] = []
        for start in range(0, len(texts), BATCH_SIZE):
            batch = list(texts[start : start + BATCH_SIZE])
            try:
                response = await self._client.embeddings.create(model=self.model, input=batch)
            except openai.APITimeoutError:
                raise TransientEmbeddingError(
                    "the embeddings server did not answer in time"
                ) from None
            except openai.APIConnectionError:
                raise TransientEmbeddingError(
                    "could not connect to the embeddings server"
                ) from None
            except openai.APIStatusError as error:
                raise _classify(error, self._api_key) from None
            except openai.OpenAIError as error:
                raise PermanentEmbeddingError(
                    f"the embeddings server's answer was not understood ({type(error).__name__})"
                ) from None
            data = sorted(response.data, key=lambda item: item.index)
            if len(data) != len(batch):
                raise PermanentEmbeddingError(
                    f"the embeddings server returned {len(data)} vectors for {len(batch)} texts"
                )
            vectors.extend(_unit(list(item.embedding)) for item in data)
        sizes = {len(vector) for vector in vectors}
        if len(sizes) > 1 or 0 in sizes:
            raise PermanentEmbeddingError("the embeddings server returned vectors of mixed sizes")
        return vectors


def _classify(error: Any, api_key: str | None) -> EmbeddingError:
    status = int(error.status_code)
    message = ""
    body = error.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]
    if api_key:
        message = message.replace(api_key, "[redacted]")
    message = re.sub(r"\b(sk|rk)-[A-Za-z0-9_\-*]{4,}", r"\1-[redacted]", message)[:300]
    described = f"HTTP {status}" + (f": {message}" if message else "")
    quota = error.code == "insufficient_quota" or (
        isinstance(body, dict) and body.get("type") == "insufficient_quota"
    )
    if status in (408, 409) or status >= 500 or (status == 429 and not quota):
        return TransientEmbeddingError(f"the embeddings server is unavailable ({described})")
    return PermanentEmbeddingError(f"the embeddings server refused the request ({described})")


def _unit(vector: Vector) -> Vector:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm > 0 else vector
