// The GraphiQL playground at GET /graphql, built and served with the app: nothing is
// loaded from a CDN, so it works offline.
//
// Where the token goes: signed in to the app (at /) in this browser, GraphiQL sends your
// session's access token itself, refreshed as the app refreshes it. Otherwise, or to act
// as someone else (an API key), put it in the Headers tab:
//   {"Authorization": "Bearer <access token or API key>"}
// Subscriptions run over graphql-transport-ws with the same header in connection_init.
import type { Fetcher, FetcherOpts, FetcherParams } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";
import "./page.css";
import { Kind, OperationTypeNode, parse } from "graphql";
import { createClient } from "graphql-ws";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { SessionStore } from "../api/session";

const session = new SessionStore();
const wsUrl = new URL("/graphql", window.location.href);
wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";

const DEFAULT_QUERY = `# Atende's GraphQL API (docs/api.md; schema.graphql is the full schema).
#
# Where the token goes: signed in to the app at / in this browser, this page sends your
# session's token by itself. Otherwise sign in below, then put the accessToken in the
# Headers tab:  {"Authorization": "Bearer <accessToken>"}  (an API key goes there too).
#
# mutation {
#   signIn(input: {email: "demo@atende.dev", password: "atende-demo"}) {
#     ... on SignInSuccess { session { accessToken } }
#     ... on UserError { message }
#   }
# }

query Me {
  viewer {
    user { fullName email }
    memberships { role organization { id name } }
  }
}
`;

async function authorization(headers: Record<string, unknown>): Promise<Record<string, string>> {
  const given = Object.fromEntries(
    Object.entries(headers).filter(([, value]) => typeof value === "string"),
  ) as Record<string, string>;
  if (Object.keys(given).some((name) => name.toLowerCase() === "authorization")) return given;
  const token = await session.freshToken().catch(() => session.current?.accessToken ?? null);
  return token ? { ...given, Authorization: `Bearer ${token}` } : given;
}

function isSubscription(params: FetcherParams): boolean {
  try {
    const document = parse(params.query);
    return document.definitions.some(
      (definition) =>
        definition.kind === Kind.OPERATION_DEFINITION &&
        definition.operation === OperationTypeNode.SUBSCRIPTION &&
        (!params.operationName || definition.name?.value === params.operationName),
    );
  } catch {
    return false;
  }
}

const fetcher: Fetcher = async (params: FetcherParams, options?: FetcherOpts) => {
  const headers = await authorization(options?.headers ?? {});
  if (isSubscription(params)) {
    const client = createClient({ url: wsUrl.toString(), connectionParams: headers, lazy: true });
    const iterator = client.iterate({
      query: params.query,
      variables: params.variables ?? undefined,
      operationName: params.operationName ?? undefined,
    });
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => iterator.next(),
        return: async () => {
          await iterator.return?.();
          await client.dispose();
          return { done: true as const, value: undefined };
        },
      }),
    };
  }
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", ...headers },
    body: JSON.stringify(params),
  });
  return response.json();
};

const root = document.getElementById("graphiql");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} />
    </StrictMode>,
  );
}
