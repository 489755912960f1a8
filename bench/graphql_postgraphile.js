// PostGraphile 4 serving the same tables and policies as Atende, for bench/graphql.py.
//
// Each request is verified (HS256, the same secret as Atende) and runs as PostgREST
// and Supabase run it: role `authenticated` and `request.jwt.claims` set for the
// transaction (pgSettings), so the same row-level security applies.
//
// Environment: DATABASE_URL, PORT, JWT_SECRET. Installed by the benchmark into
// bench/.postgraphile (npm install postgraphile@4), never committed.
"use strict";

const http = require("http");
const jwt = require("jsonwebtoken");
const { postgraphile } = require("postgraphile");

const secret = process.env.JWT_SECRET;

function claimsOf(req) {
  const header = req.headers.authorization || "";
  const [scheme, token] = header.split(" ");
  if (scheme !== "Bearer" || !token) return null;
  try {
    return jwt.verify(token, secret, { algorithms: ["HS256"], audience: "authenticated" });
  } catch (error) {
    return null;
  }
}

const middleware = postgraphile(process.env.DATABASE_URL, ["public"], {
  graphqlRoute: "/graphql",
  graphiql: false,
  disableQueryLog: true,
  retryOnInitFail: false,
  dynamicJson: true,
  setofFunctionsContainNulls: false,
  pgSettings: async (req) => {
    const claims = claimsOf(req);
    if (claims === null) return { role: "anon" };
    return { role: "authenticated", "request.jwt.claims": JSON.stringify(claims) };
  },
});

http.createServer(middleware).listen(Number(process.env.PORT), "127.0.0.1", () => {
  process.stdout.write("listening\n");
});
