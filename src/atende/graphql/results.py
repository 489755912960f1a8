"""Expected failures as schema types: what mutations return instead of raising.

Every refusal implements ``UserError``: clients switch on ``__typename`` and may show
``message`` (pt-BR, written for the team) as it is. Modules add refusals of their own
beside the code that returns them; the ones here are shared by every module.
"""

from __future__ import annotations

import strawberry


@strawberry.interface(
    description="An expected refusal: the operation did nothing, and `message` says why."
)
class UserError:
    message: str = strawberry.field(description="Why, in words a team member can read (pt-BR).")


@strawberry.type(description="An input was not acceptable; nothing was changed.")
class ValidationError(UserError):
    field: str | None = strawberry.field(
        description="The input field at fault (as named in the schema), when there is one."
    )


@strawberry.type(
    description="No such object, or it belongs to an organization you are not a member of."
)
class NotFound(UserError):
    pass


@strawberry.type(description="You are a member, but your role does not allow this.")
class Forbidden(UserError):
    pass
