// A webhook receiver for tests/api/test_webhooks.py. Every delivery is verified with the Standard
// Webhooks reference library (the `standardwebhooks` npm package, pinned by package-lock.json), never
// with orderd's own code, and logged as one JSON line:
//   {"path", "open", "id", "type", "verified": [true|false per secret], "status", "body"}
//
// Usage: node receiver.mjs DIR. It listens on 127.0.0.1 (a free port) and prints {"port": N} on stdout.
// The test steers it with two files in DIR, read on every request:
//   secrets.json  {"/path": ["whsec_...", ...]}  the secrets to verify deliveries to /path with
//   answers.json  {"/path": {"status": 503, "retry_after": "1"}}  how to answer (default 204);
//                 {"/path": {"hang": true}} never answers; {"/path": {"delay_ms": 500}} answers that late;
//                 {"/path": {"body_base64": "..."}} answers with those bytes;
//                 {"/path": {"cut": true, "status": 200}} sends the status and part of the body, then resets
// A delivery that none of its path's secrets verifies is answered 401 whatever answers.json says.
// and reads DIR/log.jsonl. Each entry's "open" counts the requests to its path not yet answered,
// itself included: how many deliveries orderd had open to that endpoint at once.
import { appendFileSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";

const dir = process.argv[2];
const open = {};  // path -> requests not yet answered

function readJson(name) {
  try {
    return JSON.parse(readFileSync(join(dir, name), "utf8"));
  } catch {
    return {};
  }
}

function verifiedWith(secrets, body, headers) {
  return secrets.map((secret) => {
    try {
      new Webhook(secret).verify(body, headers);
      return true;
    } catch {
      return false;
    }
  });
}

const server = createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const path = request.url;
    const answer = readJson("answers.json")[path] ?? {};
    const secrets = readJson("secrets.json")[path] ?? [];
    const verified = verifiedWith(secrets, body, request.headers);
    // As a real receiver would: a delivery that none of the path's secrets verifies is refused, so
    // orderd retries it and the test that waits for it fails.
    const refused = secrets.length > 0 && !verified.includes(true);
    const status = refused ? 401 : answer.status ?? 204;
    let type = null;
    try {
      type = JSON.parse(body).type ?? null;
    } catch {}
    open[path] = (open[path] ?? 0) + 1;
    const entry = {
      path,
      open: open[path],
      id: request.headers["webhook-id"] ?? null,
      type,
      verified,
      status,
      content_type: request.headers["content-type"] ?? null,
      body,
    };
    appendFileSync(join(dir, "log.jsonl"), `${JSON.stringify(entry)}\n`);
    if (answer.hang) return;
    if (answer.cut) {
      open[path] -= 1;
      response.writeHead(status, { "Content-Length": "1000" });
      response.write("part of an answer");
      setTimeout(() => request.socket.destroy(), 100);
      return;
    }
    const headers = answer.retry_after ? { "Retry-After": answer.retry_after } : {};
    setTimeout(() => {
      open[path] -= 1;
      response.writeHead(status, headers);
      response.end(answer.body_base64 ? Buffer.from(answer.body_base64, "base64") : answer.body ?? "");
    }, answer.delay_ms ?? 0);
  });
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
