"""The webhooks module's own refusals (``NotFound``, ``Forbidden`` and ``InvalidInput``
are every domain's)."""

from __future__ import annotations

from atende.errors import Refusal


class EndpointDisabled(Refusal):
    """The delivery's endpoint is disabled: enable it before sending again."""

    public_message = "Este endpoint está desativado: ative-o antes de reenviar."
