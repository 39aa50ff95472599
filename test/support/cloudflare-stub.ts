/**
 * A local stand-in for Cloudflare's API v4 DNS endpoints (developers.cloudflare.com/api), on
 * 127.0.0.1, recording every request: zone lookup by name (GET /zones?name=), list records
 * (GET /zones/{zone_id}/dns_records?type=&name=), create (POST /zones/{zone_id}/dns_records) and
 * edit (PATCH /zones/{zone_id}/dns_records/{id}). Requests without `Authorization: Bearer <token>`
 * get Cloudflare's 403 "Authentication error" envelope; `failWith()` makes every request fail.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, without the `/client/v4` prefix. */
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

export interface StubRecord {
  id: string;
  type: string;
  name: string;
  content: string;
  ttl: number;
  proxied: boolean;
  comment?: string;
}

export interface CloudflareStub {
  /** What the scripts use as CLOUDFLARE_API_URL. */
  readonly apiUrl: string;
  readonly requests: RecordedRequest[];
  readonly records: StubRecord[];
  /** The token requests must carry. */
  token: string;
  /** Every request fails with this status and these errors, until set to undefined. */
  failWith(failure: { status: number; errors: { code: number; message: string }[] } | undefined): void;
  close(): Promise<void>;
}

const PREFIX = "/client/v4";

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    req.on("data", (d) => (data += d.toString()));
    req.on("end", () => resolve(data));
  });
}

export async function startCloudflareStub(zone: { id: string; name: string }, token: string, records: StubRecord[] = []): Promise<CloudflareStub> {
  const requests: RecordedRequest[] = [];
  let failure: { status: number; errors: { code: number; message: string }[] } | undefined;
  let next = 1;
  const stub = { token } as { token: string };
  const server: Server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const url = new URL(req.url!, "http://stub");
    const path = `${url.pathname.slice(PREFIX.length)}${url.search}`;
    let body: unknown = raw;
    try {
      body = raw === "" ? undefined : JSON.parse(raw);
    } catch {
      /* recorded as text */
    }
    requests.push({ method: req.method!, path, authorization: req.headers.authorization, contentType: req.headers["content-type"], body });
    const send = (status: number, result: unknown, errors: { code: number; message: string }[] = []) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ success: errors.length === 0, errors, messages: [], result }));
    if (failure) return send(failure.status, null, failure.errors);
    if (req.headers.authorization !== `Bearer ${stub.token}`) return send(403, null, [{ code: 10000, message: "Authentication error" }]);
    const parts = url.pathname.slice(PREFIX.length).split("/").filter(Boolean);
    if (req.method === "GET" && parts.length === 1 && parts[0] === "zones") {
      return send(200, url.searchParams.get("name") === zone.name ? [{ id: zone.id, name: zone.name, status: "active" }] : []);
    }
    if (parts[0] !== "zones" || parts[1] !== zone.id || parts[2] !== "dns_records")
      return send(404, null, [{ code: 7003, message: "Could not route to the requested path" }]);
    if (req.method === "GET" && parts.length === 3) {
      const type = url.searchParams.get("type");
      const name = url.searchParams.get("name");
      return send(
        200,
        records.filter((r) => (!type || r.type === type) && (!name || r.name === name)),
      );
    }
    if (req.method === "POST" && parts.length === 3) {
      const b = body as Omit<StubRecord, "id">;
      const record: StubRecord = { id: `rec${next++}`, type: b.type, name: b.name, content: b.content, ttl: b.ttl, proxied: b.proxied, comment: b.comment };
      records.push(record);
      return send(200, record);
    }
    const record = records.find((r) => r.id === parts[3]);
    if (req.method === "PATCH" && parts.length === 4 && record) {
      Object.assign(record, body as Partial<StubRecord>);
      return send(200, record);
    }
    return send(404, null, [{ code: 81044, message: "Record does not exist." }]);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return Object.assign(stub, {
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}${PREFIX}`,
    requests,
    records,
    failWith: (f: typeof failure) => void (failure = f),
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}
