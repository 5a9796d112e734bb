/**
 * The offline IDE in a real headless chromium (Debian's /usr/bin/chromium through
 * playwright-core): every request not to loopback is blocked and recorded, the page loads
 * GraphiQL from the gateway alone, runs the preloaded participant query and shows the README's
 * answer, then streams the preloaded subscription over graphql-ws. Also: the HTML references no external URL, the IDE and introspection go off together
 * (HTTP and graphql-ws alike), and Apollo's CSRF prevention still refuses simple requests.
 */
import { existsSync } from "node:fs";
import { readFileSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseApiKeys } from "../../src/auth/api-keys.js";
import { createLogger } from "../../src/logger.js";
import { startGateway, type GatewayOptions, type RunningGateway } from "../../src/server.js";
import { DEMO_CREDENTIALS } from "../support/sdk.js";
import { startStack, wsClient, type Stack } from "../support/stack.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`test/browser/ide.test.ts: ${CHROMIUM} is missing; the browser test is skipped (CI installs it: .ci/run)`);

/** The participant example's expected answer, as the README documents it. */
function readmeParticipantAnswer(): unknown {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("<!-- example: participant-query"));
  const json = /```json\n([\s\S]*?)\n```/.exec(section)![1]!;
  return JSON.parse(json);
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ emulator: { demoData: true } });
});
afterAll(async () => {
  await stack?.close();
});

/** A gateway of its own on the stack's emulator, with `options` (auth, introspection). */
function startOwnGateway(options: Pick<GatewayOptions, "auth" | "introspection">): Promise<RunningGateway> {
  return startGateway({
    port: 0,
    genesys: { endpoint: { baseUrl: new URL(stack.emulator.url) }, ...DEMO_CREDENTIALS },
    logger: createLogger("silent"),
    ...options,
  });
}

async function getIde(url: string, accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8") {
  return fetch(url, { headers: { accept } });
}

describe("the IDE page", () => {
  it("is served to browsers on GET /graphql, inline, referencing no external URL, with a CSP limiting requests to this origin", async () => {
    const response = await getIde(stack.gateway.url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(response.headers.get("content-security-policy")).toContain("connect-src 'self'");
    const html = await response.text();
    expect(html).toContain("renderYogaGraphiQL");
    expect(html).toContain("query Participant($c: ID!, $p: ID!)");
    expect(html).not.toMatch(/(?:src|href)\s*=\s*\\?["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*\\?["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
    // Rendered once: a revalidation with its ETag is a 304 without the 9 MB body.
    const etag = response.headers.get("etag")!;
    const again = await fetch(stack.gateway.url, { headers: { accept: "text/html", "if-none-match": etag } });
    expect(again.status).toBe(304);
  });

  it("leaves GraphQL over GET and JSON clients to Apollo", async () => {
    const query = new URL(stack.gateway.url);
    query.searchParams.set("query", "{ __typename }");
    const response = await fetch(query, { headers: { accept: "application/json", "apollo-require-preflight": "true" } });
    expect(await response.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("keeps Apollo's CSRF prevention: a simple (text/plain) POST is refused, application/json works", async () => {
    const simple = await fetch(stack.gateway.url, { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ query: "{ __typename }" }) });
    expect(simple.status).toBe(400);
    const json = await fetch(stack.gateway.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ __typename }" }) });
    expect(json.status).toBe(200);
  });
});

describe.skipIf(!hasChromium)("the IDE in headless chromium, network limited to loopback", () => {
  let browser: Browser;
  beforeAll(async () => {
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("loads GraphiQL from the gateway alone, runs the preloaded participant query and streams the preloaded subscription", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const attempted: string[] = [];
    const blocked: string[] = [];
    const loopback = (url: string) => {
      const { protocol, hostname } = new URL(url);
      return protocol === "data:" || protocol === "blob:" || hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
    };
    page.on("request", (request) => attempted.push(request.url()));
    page.on("websocket", (socket) => attempted.push(socket.url()));
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (loopback(url)) return route.continue();
      blocked.push(url);
      return route.abort("blockedbyclient");
    });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    // Requests the CSP stops never reach the network (nor page.route): record them too.
    await page.addInitScript(() => {
      const seen: string[] = ((window as unknown as { cspViolations: string[] }).cspViolations = []);
      document.addEventListener("securitypolicyviolation", (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
    });

    const answer = page.waitForResponse(
      (r) => r.url() === stack.gateway.url && r.request().method() === "POST" && (r.request().postData() ?? "").includes("participant(conversationId"),
      { timeout: 20_000 },
    );
    await page.goto(stack.gateway.url, { waitUntil: "load", timeout: 30_000 });
    const run = page.locator(".graphiql-execute-button");
    await run.waitFor({ state: "visible", timeout: 20_000 });
    await run.click();
    const response = await answer;
    expect(response.request().headers()["content-type"]).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(readmeParticipantAnswer());
    // The result pane shows it too.
    await page.locator(".result-window").getByText("John Customer").first().waitFor({ timeout: 10_000 });

    // The preloaded subscription, over graphql-ws on the same origin (allowed by the CSP).
    await page.locator(".graphiql-tab").filter({ hasText: "AttributesChanged" }).click();
    // The tab switch and Monaco's model swap are asynchronous: run only once the editor shows the
    // subscription, or the click re-runs the query (as a loaded CI machine once did).
    await page.locator(".graphiql-tab-active").filter({ hasText: "AttributesChanged" }).waitFor({ timeout: 10_000 });
    await page.locator(".graphiql-query-editor").getByText("attributesChanged(").first().waitFor({ timeout: 10_000 });
    await run.click();
    await expect.poll(() => attempted.filter((u) => u.startsWith("ws://")).length, { timeout: 10_000 }).toBeGreaterThan(0);
    // Written behind the gateway's back until the change shows (the first write may precede the topic subscription).
    await expect
      .poll(
        async () => {
          await stack.sdk.conversations.patchConversationsCallParticipantAttributes(
            "c0000000-0000-4000-8000-000000000001",
            "d0000000-0000-4000-8000-000000000011",
            { attributes: { "ide.check": `seen-${Date.now()}` } },
          );
          return page.locator(".result-window").getByText("ide.check").count();
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBeGreaterThan(0);

    expect(blocked).toEqual([]);
    expect(attempted.filter((u) => !loopback(u))).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    await context.close();
  });
});

describe("the IDE page with caller auth on", () => {
  const KEY = "ide-read-key-0123456789abcdef";
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startOwnGateway({
      auth: { mode: "required", apiKeys: parseApiKeys(JSON.stringify([{ id: "ide", key: KEY, scopes: ["participants:read"] }]), "test keys") },
    });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it("serves the static page without credentials, but every GraphQL request it makes needs them", async () => {
    const page = await getIde(gateway.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("renderYogaGraphiQL");
    const body = JSON.stringify({ query: "{ __typename }" });
    const anonymous = await fetch(gateway.url, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(anonymous.status).toBe(401);
    const viaGet = new URL(gateway.url);
    viaGet.searchParams.set("query", "{ __typename }");
    const anonymousGet = await fetch(viaGet, { headers: { accept: "application/json", "apollo-require-preflight": "true" } });
    expect(anonymousGet.status).toBe(401);
    // What the IDE's Headers editor adds ({"Authorization": "Bearer …"}).
    const authorized = await fetch(gateway.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` }, body });
    expect(await authorized.json()).toEqual({ data: { __typename: "Query" } });
  });
});

describe("introspection off", () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startOwnGateway({ introspection: false, auth: { mode: "none", reason: "embedded-demo" } });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it("serves no IDE and refuses __schema/__type on HTTP with GRAPHQL_VALIDATION_FAILED", async () => {
    const page = await getIde(gateway.url);
    expect(await page.text()).not.toContain("renderYogaGraphiQL");
    const response = await fetch(gateway.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __schema { queryType { name } } }" }),
    });
    const body = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    expect(body.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const typename = await fetch(gateway.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ __typename }" }) });
    expect(await typename.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("refuses introspection over graphql-ws the same way", async () => {
    const client = wsClient(gateway.wsUrl);
    try {
      const errors = await new Promise<unknown[]>((resolve) => {
        client.subscribe({ query: '{ __type(name: "Participant") { name } }' }, { next: () => undefined, error: (e) => resolve(e as unknown[]), complete: () => resolve([]) });
      });
      expect((errors[0] as { extensions?: { code?: string } }).extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    } finally {
      await client.dispose();
    }
  });
});
