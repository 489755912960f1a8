"""What a process gives its domains, by type, without any of them seeing the rest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

import procrastinate

T = TypeVar("T")


class Dependencies:
    """Objects by the type they are asked for: each resolver or job asks for exactly the
    object it uses (``info.context.get(IdentityService)``, ``dependencies.get(Database)``)
    and knows nothing of the others'.

    Filled by the process's composition root (``atende.services``) when it opens; a
    protocol may be a key (``MessagingTransport``), with its implementation as the value.
    """

    def __init__(self, provided: Mapping[type[Any], object] | None = None) -> None:
        self._provided: dict[type[Any], object] = dict(provided or {})

    def get(self, kind: type[T]) -> T:
        try:
            return cast(T, self._provided[kind])
        except KeyError:
            raise LookupError(f"this process provides no {kind.__name__}") from None


#: The key of a job's ``additional_context`` that holds the worker's ``Dependencies``.
JOB_CONTEXT_KEY = "dependencies"


def job_dependencies(context: procrastinate.JobContext) -> Dependencies:
    """What the worker gives a job (its ``additional_context``)."""
    dependencies: Dependencies = context.additional_context[JOB_CONTEXT_KEY]
    return dependencies
