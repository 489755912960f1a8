"""The GraphQL API assembled: the schema from every domain's types, its execution, limits
and lifecycle, and the ``/graphql`` endpoint. No domain imports this package (see
docs/architecture.md)."""
