// Operations typed from the API's schema (the repository's schema.graphql, which
// `make schema` regenerates from the live Strawberry schema). `npm run codegen` writes
// src/gql/ before every type check and build, and is never committed: an operation that
// asks for what the schema no longer has fails codegen's validation, and a component that
// reads what an operation no longer returns fails `tsc`. Both run in `make test`.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        onlyOperationTypes: true,
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: "string", BigInt: "string | number", Upload: "File" },
      },
    },
  },
};

export default config;
