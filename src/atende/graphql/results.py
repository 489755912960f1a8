"""The results every domain's mutations share, and the one mapping of refusals to them.

A mutation returns a union of its success type and the ``UserError`` types it can meet
(clients select ``__typename``). The three refusals every domain meets
(``atende.errors``: ``NotFound``, ``Forbidden``, ``InvalidInput``) become the types here;
a domain's own refusals are mapped by the table it passes to ``refusal_result``.
"""

from __future__ import annotations

from collections.abc import Mapping

import strawberry

from atende import errors


@strawberry.interface(description="An expected failure: show `message` to the user.")
class UserError:
    message: str = strawberry.field(description="What went wrong, in words for the user.")


@strawberry.type(description="An input field is invalid; nothing was changed.")
class ValidationError(UserError):
    field: str = strawberry.field(
        description="The argument or input field at fault, as the schema names it (`email`)."
    )


@strawberry.type(
    description="No such object among the caller's organizations (an organization, a member,"
    " a conversation)."
)
class NotFound(UserError):
    pass


@strawberry.type(name="Forbidden", description="The caller's role does not allow this change.")
class ForbiddenResult(UserError):
    pass


def refusal_result(
    error: errors.Refusal,
    own: Mapping[type[errors.Refusal], type[UserError]] | None = None,
) -> UserError:
    """The typed result of ``error``: a shared refusal's, or the one ``own`` (a domain's
    table of its own refusals) names for its class. Anything else is raised again."""
    if isinstance(error, errors.InvalidInput):
        return ValidationError(message=error.user_message, field=error.field)
    if isinstance(error, errors.NotFound):
        return NotFound(message=error.user_message)
    if isinstance(error, errors.Forbidden):
        return ForbiddenResult(message=error.user_message)
    result_type = (own or {}).get(type(error))
    if result_type is None:
        raise error
    return result_type(message=error.user_message)
