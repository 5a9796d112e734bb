/**
 * Documents that passed parsing and every validation rule, by query text: the rules
 * (token limit, cost limits, list nesting, graphql-js's rules, introspection switch) depend only
 * on the schema, the settings and the text, so a query seen before skips the parse and three
 * validation passes (about a third of the gateway's own CPU per small query, measured with
 * `node --cpu-prof` on `npm run bench`'s read). Only valid documents are kept; what depends on
 * the request (rate limit, operation name, scopes, variables, conversations named) is still
 * checked every time.
 *
 * Bounded: at most `maxEntries` documents (least recently used evicted first), and queries
 * longer than `maxQueryLength` characters are not kept.
 */
import type { DocumentNode } from "graphql";

/** Options of {@link ValidatedDocuments}. */
export interface ValidatedDocumentsOptions {
  /** Documents kept at most. Default 1 000. */
  maxEntries?: number;
  /** Longest query text (characters) kept. Default 20 000. */
  maxQueryLength?: number;
}

/** See the file comment. */
export class ValidatedDocuments {
  private readonly entries = new Map<string, DocumentNode>();
  private readonly maxEntries: number;
  private readonly maxQueryLength: number;

  constructor(options: ValidatedDocumentsOptions = {}) {
    this.maxEntries = options.maxEntries ?? 1_000;
    this.maxQueryLength = options.maxQueryLength ?? 20_000;
  }

  /** The validated document of `query`, if it is kept (it becomes the most recently used). */
  get(query: string): DocumentNode | undefined {
    const document = this.entries.get(query);
    if (document) {
      this.entries.delete(query);
      this.entries.set(query, document);
    }
    return document;
  }

  /** Keeps a document that passed every rule (not kept when `query` is too long or the cache is off). */
  set(query: string, document: DocumentNode): void {
    if (this.maxEntries <= 0 || query.length > this.maxQueryLength) return;
    this.entries.delete(query);
    this.entries.set(query, document);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Documents kept (for tests). */
  get size(): number {
    return this.entries.size;
  }
}
