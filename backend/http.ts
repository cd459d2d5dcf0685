// HTTP plumbing for the console (node:http, no framework): static files from backend/console/ (plain
// HTML, CSS and ES modules: nothing to build), JSON bodies with a size limit, cookies, security headers,
// and a tiny router. The routes themselves are in backend/api.ts.
//
// Security headers on every answer: a Content-Security-Policy that allows only this origin's scripts
// and styles (no inline script, so injected markup cannot run), no framing, no MIME sniffing, no referrer.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";

export const CONSOLE_DIR = path.join(import.meta.dirname, "console");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon", ".json": "application/json",
};

export const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface Req {
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  cookies: Record<string, string>;
  body: any;
  raw: http.IncomingMessage;
  res: http.ServerResponse;
}

export type Handler = (r: Req) => Promise<unknown>;
interface Route { method: string; re: RegExp; keys: string[]; handler: Handler }

export class Router {
  private routes: Route[] = [];
  add(method: string, pattern: string, handler: Handler): void {
    const keys: string[] = [];
    const re = new RegExp("^" + pattern.replace(/:(\w+)/g, (_, k: string) => (keys.push(k), "([^/]+)")) + "$");
    this.routes.push({ method, re, keys, handler });
  }
  match(method: string, p: string): { handler: Handler; params: Record<string, string> } | "method" | null {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.re.exec(p);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      return { handler: r.handler, params: Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])])) };
    }
    return pathMatched ? "method" : null;
  }
}

export function parseCookies(h: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (h ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<any> {
  if (req.method === "GET" || req.method === "HEAD") return undefined;
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new ApiError(413, `request body over ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  if (n === 0) return {};
  const ct = String(req.headers["content-type"] ?? "");
  if (!ct.startsWith("application/json")) throw new ApiError(415, `send JSON (Content-Type: application/json), not ${ct || "no content type"}`);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (e) {
    throw new ApiError(400, `body is not valid JSON: ${(e as Error).message}`);
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(text);
}

/** Pages that share the shell page.html (it loads /<page>.js through main.js). */
export const PAGES = ["alarms", "devices", "patients", "followup", "report", "admin"];

function serveStatic(p: string, res: http.ServerResponse): boolean {
  const page = /^\/([a-z]+)\.html$/.exec(p === "/" ? "/alarms.html" : p)?.[1];
  const rel = page && PAGES.includes(page) ? "/page.html" : p;
  const file = path.normalize(path.join(CONSOLE_DIR, rel));
  if (!file.startsWith(CONSOLE_DIR + path.sep)) return false;
  const type = TYPES[path.extname(file)];
  if (!type || !fs.existsSync(file) || !fs.statSync(file).isFile()) return false;
  res.writeHead(200, { ...SECURITY_HEADERS, "content-type": type, "cache-control": "no-cache" });
  fs.createReadStream(file).pipe(res);
  return true;
}

/** Answers /api/* through the router and everything else from backend/console/. */
export function createServer(router: Router, onError: (e: Error) => void): http.Server {
  return http.createServer(async (raw, res) => {
    const url = new URL(raw.url ?? "/", "http://x");
    const method = raw.method ?? "GET";
    try {
      if (!url.pathname.startsWith("/api/")) {
        if ((method === "GET" || method === "HEAD") && serveStatic(url.pathname, res)) return;
        throw new ApiError(404, `no page ${url.pathname}`);
      }
      const m = router.match(method, url.pathname);
      if (m === null) throw new ApiError(404, `no API ${url.pathname}`);
      if (m === "method") throw new ApiError(405, `${method} is not allowed on ${url.pathname}`);
      const req: Req = { method, path: url.pathname, query: url.searchParams, params: m.params, headers: raw.headers, cookies: parseCookies(raw.headers.cookie), body: await readBody(raw, 64 * 1024), raw, res };
      const out = await m.handler(req);
      if (!res.headersSent) sendJson(res, 200, out ?? { ok: true });
    } catch (e) {
      const err = e as Error & { status?: number };
      const status = typeof err.status === "number" ? err.status : 500;
      if (status >= 500) onError(err);
      if (!res.headersSent) sendJson(res, status, { error: status >= 500 ? `internal error: ${err.message}` : err.message });
      else res.end();
    }
  });
}
