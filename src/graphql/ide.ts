/**
 * The GraphQL IDE: GraphiQL from `@graphql-yoga/render-graphiql`, whose page carries the whole
 * GraphiQL bundle inline (scripts, styles, Monaco workers as blobs, a data: favicon), so it
 * works with no internet access; a Content-Security-Policy keeps the page from reaching
 * anything but this gateway.
 *
 * Served on `GET /graphql` to browsers (`Accept` preferring `text/html` over JSON)
 * while introspection is on; the README's demo operations are preloaded as tabs. Its requests
 * are `POST /graphql` with `content-type: application/json`, which Apollo's CSRF prevention
 * accepts, and subscriptions over graphql-ws on the same URL.
 */
import { createHash } from "node:crypto";
import type { RequestHandler } from "express";

/** One preloaded IDE tab. */
export interface IdeTab {
  /** The operation document. */
  query: string;
  /** JSON text of the variables. */
  variables?: string;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

/** The README's demo operations, on the demo data of the embedded emulator. */
export const DEMO_OPERATIONS: readonly IdeTab[] = [
  {
    query: `# A participant (README "A participant"). Run it with ▶ or Ctrl-Enter.
query Participant($c: ID!, $p: ID!) {
  participant(conversationId: $c, participantId: $p) {
    id purpose name state attributes version
    caseId: attribute(key: "crm.caseId")
  }
}`,
    variables: json({ c: "c0000000-0000-4000-8000-000000000002", p: "d0000000-0000-4000-8000-000000000021" }),
  },
  {
    query: `# A conversation (README "A conversation")
query Conversation($id: ID!) {
  conversation(id: $id) {
    id startTime
    participants { id purpose name state userId queueId attributes }
  }
}`,
    variables: json({ id: "c0000000-0000-4000-8000-000000000001" }),
  },
  {
    query: `# Writing attributes (README "Writing attributes"): attribute maps go in variables.
mutation UpdateAttributes($input: UpdateAttributesInput!) {
  updateAttributes(input: $input) {
    __typename
    ... on AttributesUpdated { attempts confirmedAfterMs participant { attributes version } }
    ... on VersionConflict { message expectedVersion participant { attributes version } }
    ... on ParticipantUnavailable { reason message }
    ... on UpdateNotConfirmed { message attempts }
  }
}`,
    variables: json({
      input: {
        conversationId: "c0000000-0000-4000-8000-000000000002",
        participantId: "d0000000-0000-4000-8000-000000000021",
        attributes: { "crm.disposition": "callback-requested", "crm.caseId": "CASE-2002" },
      },
    }),
  },
  {
    query: `# Watching changes (README "Watching changes"): the demo flow writes flow.step every 4 s.
subscription AttributesChanged($conversationId: ID!) {
  attributesChanged(conversationId: $conversationId) {
    participantId
    changes { key previous value }
    version
    observedAt
  }
}`,
    variables: json({ conversationId: "c0000000-0000-4000-8000-000000000001" }),
  },
];

/**
 * The page's Content-Security-Policy: everything the bundle needs is inline or a blob/data URL;
 * requests go only to this origin (`'self'` covers the same-origin WebSocket in CSP 3).
 */
export const IDE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'unsafe-inline' 'unsafe-eval' blob:",
  "worker-src blob:",
  "style-src 'unsafe-inline'",
  "img-src data: blob:",
  "font-src data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Renders the IDE page for `endpoint` (once per process, by {@link ideHandler}). The 9 MB
 * bundle is loaded only here, so a gateway whose IDE nobody opens never loads it.
 */
export async function renderIdePage(endpoint: string, tabs: readonly IdeTab[] = DEMO_OPERATIONS): Promise<string> {
  const { renderGraphiQL } = await import("@graphql-yoga/render-graphiql");
  return renderGraphiQL({
    // GraphiQL fills the editors of the first tab from these (not from `defaultTabs`).
    ...({ query: tabs[0]?.query, variables: tabs[0]?.variables } as object),
    title: "Genesys participants gateway",
    endpoint,
    subscriptionsProtocol: "WS",
    defaultTabs: tabs.map((t) => ({ query: t.query, variables: t.variables ?? null })),
    defaultEditorToolsVisibility: "variables",
    shouldPersistHeaders: false,
  });
}

/**
 * Express handler for `GET {endpoint}`: answers browsers with the IDE page (about 9 MB,
 * rendered on first use, `ETag` for revalidation; express 5 passes a failed render to its
 * error handler), passes everything else on (GraphQL over GET
 * from clients asking for JSON).
 */
export function ideHandler(endpoint: string): RequestHandler {
  let page: Promise<{ html: string; etag: string }> | undefined;
  return async (req, res, next) => {
    // Browsers only (as graphql-yoga decides): GraphiQL mirrors the query into `?query=`, so
    // a reload must get the page again.
    if (req.method !== "GET") return next();
    if (req.accepts(["application/graphql-response+json", "application/json", "text/html"]) !== "text/html") return next();
    page ??= renderIdePage(endpoint).then((html) => ({ html, etag: `"${createHash("sha256").update(html).digest("base64url").slice(0, 27)}"` }));
    const { html, etag } = await page;
    res.set({ "content-security-policy": IDE_CONTENT_SECURITY_POLICY, etag, "cache-control": "no-cache", "x-content-type-options": "nosniff" });
    if (req.headers["if-none-match"] === etag) return void res.status(304).end();
    res.type("html").send(html);
  };
}
