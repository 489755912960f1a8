// PostGraphile 4 serving the same tables and policies as Atende, for bench/graphql.py.
//
// Each request runs as PostgREST and Supabase run it: role `authenticated` and
// `request.jwt.claims` set for the transaction (pgSettings), so the same row-level
// security applies. The token is verified here (HS256, the same secret as Atende) and,
// as Atende does, remembered until it expires: a cache of verified tokens keyed by the
// token, least recently used dropped past TOKEN_CACHE_SIZE (Atende's size). PostGraphile's
// own `jwtSecret` option would verify every request with no cache; the benchmark's two
// token modes (a fresh token per request, or one token throughout) then cost each of the
// three servers the same: a verification per request, or a cache lookup.
//
// Environment: DATABASE_URL, PORT, JWT_SECRET, TOKEN_CACHE_SIZE. PostGraphile and
// jsonwebtoken come from bench/node_modules, installed by the benchmark with `npm ci`
// from bench/package-lock.json.
"use strict";

const http = require("http");
const jwt = require("jsonwebtoken");
const { postgraphile } = require("postgraphile");

const secret = process.env.JWT_SECRET;
const cacheSize = Number(process.env.TOKEN_CACHE_SIZE || "4096");
// Token -> claims; a Map iterates in insertion order, so the first key is the least
// recently used one (a hit is moved to the end).
const verified = new Map();

function verify(token) {
  const cached = verified.get(token);
  if (cached !== undefined) {
    verified.delete(token);
    if (cached.exp * 1000 > Date.now()) {
      verified.set(token, cached);
      return cached;
    }
  }
  let claims;
  try {
    claims = jwt.verify(token, secret, { algorithms: ["HS256"], audience: "authenticated" });
  } catch (error) {
    return null;
  }
  verified.set(token, claims);
  if (verified.size > cacheSize) verified.delete(verified.keys().next().value);
  return claims;
}

function claimsOf(req) {
  const header = req.headers.authorization || "";
  const [scheme, token] = header.split(" ");
  if (scheme !== "Bearer" || !token) return null;
  return verify(token);
}

const middleware = postgraphile(process.env.DATABASE_URL, ["public"], {
  graphqlRoute: "/graphql",
  graphiql: false,
  disableQueryLog: true,
  retryOnInitFail: false,
  dynamicJson: true,
  setofFunctionsContainNulls: false,
  // messages is a partitioned table (monthly partitions): serve the parent, as one table,
  // and not its partitions (PostGraphile 4 leaves partitioned tables out by default).
  usePartitionedParent: true,
  pgSettings: async (req) => {
    const claims = claimsOf(req);
    if (claims === null) return { role: "anon" };
    return { role: "authenticated", "request.jwt.claims": JSON.stringify(claims) };
  },
});

http.createServer(middleware).listen(Number(process.env.PORT), "127.0.0.1", () => {
  process.stdout.write("listening\n");
});
