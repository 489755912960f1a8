"""The ai module's errors: what can go wrong when asking the model for a reply, sorted by
what to do next, and the refusals of a change to the agent's settings.

:class:`TransientModelError`: try again later (with backoff). :class:`PermanentModelError`:
trying again with the same request and settings will fail the same way; send the
fallback message and tell the team. ``atende.ai.client`` documents which failure is which.

``reason`` is safe to store in a run record and show to the team: it never holds the API
key (the provider's own message is scrubbed before it is quoted).

:class:`InvalidAgentSetting`, :class:`AgentNotFound` and :class:`AgentChangeForbidden` are
``atende.errors`` refusals, which ``atende.graphql.results`` maps to GraphQL results.
"""

from __future__ import annotations

from enum import StrEnum

from atende.errors import AtendeError, Forbidden, InvalidInput, NotFound


class ModelFailure(StrEnum):
    """What failed, in one word, for run records and metrics."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    BAD_REQUEST = "bad_request"
    MODEL_NOT_FOUND = "model_not_found"
    QUOTA_EXCEEDED = "quota_exceeded"
    INVALID_RESPONSE = "invalid_response"
    EMPTY_REPLY = "empty_reply"
    BAD_TOOL_CALL = "bad_tool_call"
    NOT_CONFIGURED = "not_configured"


class ModelError(AtendeError):
    """The model did not produce a reply."""

    #: Used when a subclass is raised with no ``failure``.
    default_failure = ModelFailure.INVALID_RESPONSE

    def __init__(
        self,
        reason: str | None = None,
        *,
        failure: ModelFailure | None = None,
        status_code: int | None = None,
        code: str | None = None,
        retry_after_seconds: float | None = None,
        latency_ms: int | None = None,
    ) -> None:
        super().__init__(reason)
        #: What failed, in one word.
        self.failure = failure or self.default_failure
        #: The HTTP status the model server answered with, when it answered.
        self.status_code = status_code
        #: The provider's ``error.code`` (``rate_limit_exceeded``, ``model_not_found``, ...).
        self.code = code
        #: How long the provider asked us to wait (``Retry-After``), when it said.
        self.retry_after_seconds = retry_after_seconds
        #: How long the failed request took, in milliseconds.
        self.latency_ms = latency_ms

    @property
    def reason(self) -> str:
        """What went wrong, in one line, without secrets."""
        return self.message

    @property
    def retryable(self) -> bool:
        return isinstance(self, TransientModelError)


class TransientModelError(ModelError):
    """The model is unavailable for now; try again later."""

    default_failure = ModelFailure.SERVER_ERROR


class PermanentModelError(ModelError):
    """The model cannot answer this request; trying again will not help."""

    default_failure = ModelFailure.INVALID_RESPONSE


class ModelNotConfigured(PermanentModelError):
    """No model is configured: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)."""

    default_failure = ModelFailure.NOT_CONFIGURED


# -- Refusals: changing the agent's settings (atende.ai.service) ---------------------------


def schema_field_name(name: str) -> str:
    """``system_prompt`` as the schema spells it: ``systemPrompt``."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


class InvalidAgentSetting(InvalidInput):
    """An agent setting is invalid."""

    def __init__(self, setting: str, user_message: str) -> None:
        super().__init__(schema_field_name(setting), user_message)
        #: The setting, as Python names it (``system_prompt``).
        self.setting = setting


class AgentNotFound(NotFound):
    """No such organization among the caller's."""

    public_message = "Organização não encontrada."


class AgentChangeForbidden(Forbidden):
    """Only the organization's owners and admins may change its agent."""

    public_message = "Apenas proprietários e administradores podem alterar o assistente."
