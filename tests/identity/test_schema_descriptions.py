"""Every identity type, field and argument in the schema says what it is."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
)

from atende.api.schema import build_schema


def identity_types() -> dict[str, object]:
    schema = build_schema()
    types: dict[str, object] = {}
    for name, graphql_type in schema._schema.type_map.items():
        definition = schema.get_type_by_name(name)
        origin = getattr(definition, "origin", None) or getattr(definition, "wrapped_cls", None)
        module = getattr(origin, "__module__", "") or ""
        union = isinstance(graphql_type, GraphQLUnionType)
        if module.startswith(("atende.identity", "atende.api.organization")) or (
            union and name.endswith("Result")
        ):
            types[name] = graphql_type
    return types


def test_identity_types_fields_and_arguments_have_descriptions() -> None:
    undescribed: list[str] = []
    types = identity_types()
    assert {"Organization", "Membership", "Session", "RegisterOrganizationResult"} <= set(types)
    for name, graphql_type in types.items():
        if not getattr(graphql_type, "description", None):
            undescribed.append(name)
        if isinstance(
            graphql_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType
        ):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    undescribed.append(f"{name}.{field_name}")
                for argument_name, argument in getattr(field, "args", {}).items():
                    if not argument.description:
                        undescribed.append(f"{name}.{field_name}({argument_name})")
        if isinstance(graphql_type, GraphQLEnumType):
            assert graphql_type.description
    assert undescribed == []


def test_identity_root_fields_have_descriptions() -> None:
    schema = build_schema()._schema
    assert schema.mutation_type is not None
    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        for field_name in (
            ("viewer", "organization")
            if root is schema.query_type
            else (
                "registerOrganization",
                "signIn",
                "refreshSession",
                "signOut",
                "inviteMember",
                "acceptInvitation",
                "updateMemberRole",
                "removeMember",
            )
        ):
            field = root.fields[field_name]
            assert field.description, field_name
            for argument_name, argument in field.args.items():
                assert argument.description, f"{field_name}({argument_name})"
