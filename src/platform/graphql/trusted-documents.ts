/**
 * Trusted documents (persisted operations): a production api that runs only the operations on an allow-list, the
 * manifest `npm run codegen` writes (hash → document text). Clients send the hash in
 * `extensions.persistedQuery.sha256Hash`; the text, if sent too, is ignored, so one client build works against an
 * api with the allow-list on and off (README: Trusted documents).
 */
import { readFileSync } from "node:fs";
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import { defaultExtractPersistedOperationId, usePersistedOperations } from "@graphql-yoga/plugin-persisted-operations";

export interface TrustedDocuments {
  /** The document text of an allow-listed hash (with or without its `sha256:` prefix). */
  lookup(hash: string): string | undefined;
  readonly size: number;
}

/** Reads the manifest; a missing or malformed file stops the start-up (a deploy without its allow-list). */
export function loadTrustedDocuments(path: string): TrustedDocuments {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`trusted documents: cannot read the manifest ${path}: ${(err as Error).message}`);
  }
  if (!manifest || typeof manifest !== "object" || Array.isArray(manifest))
    throw new Error(`trusted documents: ${path} is not a { hash: document } object`);
  const documents = new Map<string, string>();
  for (const [hash, text] of Object.entries(manifest)) {
    if (typeof text !== "string") throw new Error(`trusted documents: ${path}: the entry ${hash} is not a string`);
    documents.set(hash, text);
  }
  return {
    lookup: (hash) => documents.get(hash) ?? documents.get(`sha256:${hash}`),
    size: documents.size,
  };
}

const textRefused = () =>
  new GraphQLError(
    "This server runs only trusted documents: send the hash of an allow-listed operation in " +
      "extensions.persistedQuery.sha256Hash (written by `npm run codegen`), not a document of your own.",
    { extensions: { code: "PERSISTED_QUERY_ONLY", http: { status: 400 } } },
  );
const unknownHash = () =>
  new GraphQLError("Unknown document hash: this operation is not on the server's allow-list.", {
    extensions: { code: "PERSISTED_QUERY_NOT_FOUND", http: { status: 400 } },
  });

interface Params {
  query?: string;
  extensions?: Record<string, unknown> | null;
}

const hashOf = (params: Params) =>
  defaultExtractPersistedOperationId(params as Parameters<typeof defaultExtractPersistedOperationId>[0], null!, {});

/** HTTP and SSE (Yoga): the hash wins over any text sent with it; text alone, or an unknown hash, is refused. */
export function useTrustedDocuments(documents: TrustedDocuments): Plugin[] {
  return [
    {
      onParams({ params, setParams }) {
        if (params.query && hashOf(params)) setParams({ ...params, query: undefined });
      },
    },
    usePersistedOperations({
      allowArbitraryOperations: false,
      getPersistedOperation: (hash) => documents.lookup(hash) ?? null,
      customErrors: {
        persistedQueryOnly: () => textRefused(),
        notFound: () => unknownHash(),
        keyNotFound: textRefused,
      },
    }),
  ];
}

/** graphql-ws (no Yoga onParams there): the subscribe payload with the allow-listed text, or the refusal. */
export function trustedParams<P extends Params>(documents: TrustedDocuments, params: P): P | GraphQLError {
  const hash = hashOf(params);
  if (!hash) return textRefused();
  const query = documents.lookup(hash);
  return query === undefined ? unknownHash() : { ...params, query };
}
