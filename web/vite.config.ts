import { resolve } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Two pages: the team's app (index.html, served by `atende serve` at /) and the GraphiQL
// playground (graphiql.html, served at GET /graphql). Everything they load is in dist/:
// nothing comes from a CDN at run time.
export default defineConfig({
  plugins: [react()],
  build: {
    target: "es2020",
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    modulePreload: { polyfill: false },
    // GraphiQL's page is one large chunk by nature (its editor); the app's own budget is
    // checked by scripts/bundle-size.mjs.
    chunkSizeWarningLimit: 1000,
    rollupOptions: {
      input: {
        app: resolve(import.meta.dirname, "index.html"),
        graphiql: resolve(import.meta.dirname, "graphiql.html"),
      },
    },
  },
  server: {
    // `npm run dev` in web/ next to `make dev`: the API is proxied, WebSockets too.
    proxy: {
      "/graphql": { target: "http://127.0.0.1:8000", ws: true },
    },
  },
});
