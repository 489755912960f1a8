"""Every type, field, argument and enum value a client of the inbox uses is described."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
)

from atende.api.schema import build_schema

#: Identity's types (another module's to describe) and GraphQL's own.
NOT_OURS = {"User", "Organization", "Membership", "MembershipRole", "Viewer"}
#: Root fields that belong to other modules.
OTHER_MODULES_FIELDS = {"Query.viewer", "Query.organization"}
ORGANIZATION_FIELDS = {"conversations", "contacts", "usage"}


def test_the_inbox_api_is_described() -> None:  # noqa: PLR0912 - one walk over the schema
    schema = build_schema()._schema
    missing: list[str] = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Boolean", "ID", "Float"}:
            continue
        if name in NOT_OURS and name != "Organization":
            continue
        roots = {"Query", "Mutation", "Subscription"}
        if name not in roots | {"Organization"} and not graphql_type.description:
            missing.append(name)
        if isinstance(graphql_type, GraphQLEnumType):
            missing += [
                f"{name}.{value}"
                for value, definition in graphql_type.values.items()
                if not definition.description and name not in {"ChannelKind"}
            ]
        if isinstance(graphql_type, GraphQLUnionType):
            continue
        if isinstance(
            graphql_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType
        ):
            for field_name, field in graphql_type.fields.items():
                path = f"{name}.{field_name}"
                if path in OTHER_MODULES_FIELDS:
                    continue
                if name == "Organization" and field_name not in ORGANIZATION_FIELDS:
                    continue
                if not field.description:
                    missing.append(path)
                for argument_name, argument in getattr(field, "args", {}).items():
                    if not argument.description:
                        missing.append(f"{path}({argument_name})")
    assert missing == [], "\n".join(missing)
