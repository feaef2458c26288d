// End-to-end test of the account pages (/account/verify-email, /account/reset-password) in headless
// Chromium, as a customer meets them: the real orderd binary sends its emails to a real SMTP server
// (tests/api/smtp_sink.py), the test reads the link from the email it received, opens it in the
// browser, and ends with a successful sign-in through the API. Staff send a reset link from the
// console's Users page, which shows whether each address is verified. The pages may load nothing but
// orderd (every other request is aborted).
import { spawn } from "node:child_process";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.resolve(ROOT, process.env.ORDERD_BIN || "build-test/orderd");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), "orderd-e2e-accounts-"));
const SINK_DIR = path.join(WORK, "sink");
const TIMEOUT = 15_000;
const STAFF = { email: "kim@shop.example.com", username: "kim", password: "staff-password-1" };
const CUSTOMER = { email: "robin@example.com", username: "robin", password: "correct-horse-9" };

let sink;
let server;
let base;
let context;
let page;

// A free loopback port, so the configured public_url (and so the emailed links) can name it.
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// Starts `command` and resolves with the first match of `pattern` in its output.
function startAndWait(command, args, options, pattern, logName) {
  return new Promise((resolve, reject) => {
    const log = fs.openSync(path.join(WORK, logName), "a");
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let seen = "";
    let done = false;
    const timer = setTimeout(() => reject(new Error(`${command} did not start:\n${seen}`)), 20_000);
    const read = (chunk) => {
      fs.writeSync(log, chunk);
      seen += chunk.toString();
      const match = seen.match(pattern);
      if (match && !done) {
        done = true;
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => {
      if (!done) reject(new Error(`${command} exited with ${code}:\n${seen}`));
    });
  });
}

async function http(method, route, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(base + route, { method, headers, body: body && JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

// The messages the SMTP sink has written (one JSON file each), oldest first.
function received() {
  if (!fs.existsSync(SINK_DIR)) return [];
  return fs.readdirSync(SINK_DIR).filter((f) => f.endsWith(".json"))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10))
    .map((f) => JSON.parse(fs.readFileSync(path.join(SINK_DIR, f), "utf8")));
}

// The link of the `count`th email to `to` whose subject starts with `subject`, once it has arrived.
async function emailedLink(to, subject, count = 1) {
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    const mails = received().filter((m) => m.rcpt_tos.includes(to) && m.subject.startsWith(subject));
    if (mails.length >= count) {
      const link = mails[count - 1].text.match(/https?:\/\/\S+\?token=[A-Za-z0-9_-]+/);
      assert.ok(link, mails[count - 1].text);
      return link[0];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no "${subject}" email to ${to}`);
}

describe("account pages", () => {
  before(async () => {
    fs.mkdirSync(SINK_DIR, { recursive: true });
    const started = await startAndWait("/usr/bin/python3", [path.join(ROOT, "tests/api/smtp_sink.py"), SINK_DIR], {},
                                       /^(\d+)\n/, "sink.log");
    sink = started.child;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = {
      ...process.env,
      ORDERD_ENV: "development",
      ORDERD_DATABASE_URL: `sqlite://${path.join(WORK, "orderd.db")}`,
      ORDERD_JWT_SECRET: "e2e-secret-0123456789abcdef0123456789abcdef",
      ORDERD_LISTEN: `127.0.0.1:${port}`,
      ORDERD_PUBLIC_URL: base,
      ORDERD_SMTP_URL: `smtp://127.0.0.1:${started.match[1]}`,
      ORDERD_PASSWORD_COST: "minimum",
      ORDERD_REGISTRATIONS_PER_HOUR: "0",
      ORDERD_VERIFICATION_EMAIL: "on",
      ORDERD_SHOP_NAME: "Corner Shop",
      ASAN_OPTIONS: "detect_leaks=0",
    };
    server = (await startAndWait(BIN, ["serve"], { cwd: WORK, env }, /listening on [^ ]+:(\d+)/, "orderd.log")).child;
    const created = spawn(BIN, ["user", "create", "--email", STAFF.email, "--username", STAFF.username, "--staff",
                                "--password-stdin"], { cwd: WORK, env, stdio: ["pipe", "ignore", "inherit"] });
    created.stdin.end(`${STAFF.password}\n`);
    assert.equal(await new Promise((r) => created.on("exit", r)), 0);
    const r = await http("POST", "/register/", CUSTOMER);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    context = await chromium.launchPersistentContext(path.join(WORK, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1000, height: 700 },
      timeout: 60_000,
    });
    context.setDefaultTimeout(TIMEOUT);
    page = context.pages()[0] || (await context.newPage());
    page.on("dialog", (dialog) => dialog.accept());
    await context.route((url) => !url.href.startsWith(base), (route) => route.abort());
  });

  after(async () => {
    await context?.close();
    server?.kill("SIGTERM");
    sink?.kill("SIGTERM");
  });

  it("confirms the address from the registration email's link", async () => {
    const link = await emailedLink(CUSTOMER.email, "Confirm your email address");
    assert.ok(link.startsWith(`${base}/account/verify-email?token=`), link);
    await page.goto(link);
    assert.ok(!page.url().includes("token="), "the token leaves the address bar");
    await page.click("#submit");
    await page.waitForSelector("#message.done");
    assert.match(await page.innerText("#message"), /confirmed/);
    const login = await http("POST", "/login/", { email: CUSTOMER.email, password: CUSTOMER.password });
    assert.equal((await http("GET", "/user/", undefined, login.body.access)).body.email_verified, true);
  });

  it("sets a new password from the reset email's link, then signs in with it", async () => {
    assert.equal((await http("POST", "/password/reset/", { email: CUSTOMER.email })).status, 202);
    const link = await emailedLink(CUSTOMER.email, "Reset your Corner Shop password");
    await page.goto(link);
    await page.fill("#password", "new-password-42");
    await page.fill("#again", "not-the-same-42");
    await page.click("#submit");
    await page.waitForSelector("#message.error");
    await page.fill("#again", "new-password-42");
    await page.click("#submit");
    await page.waitForSelector("#message.done");
    assert.equal((await http("POST", "/login/", { email: CUSTOMER.email, password: CUSTOMER.password })).status, 401);
    const login = await http("POST", "/login/", { email: CUSTOMER.email, password: "new-password-42" });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    CUSTOMER.password = "new-password-42";

    // The same link again: used.
    await page.goto(link);
    await page.fill("#password", "another-password-43");
    await page.fill("#again", "another-password-43");
    await page.click("#submit");
    await page.waitForSelector("#message.error");
    assert.match(await page.innerText("#message"), /invalid, used or expired/);
  });

  it("lets staff see verification and send a reset link from the Users page", async () => {
    await page.goto(`${base}/admin/`);
    await page.fill("#signin-form [name=email]", STAFF.email);
    await page.fill("#signin-form [name=password]", STAFF.password);
    await page.click("#signin-form button[type=submit]");
    await page.click("#nav a[data-view=users]");
    const row = page.locator(`#users-table tr[data-username="${CUSTOMER.username}"]`);
    await row.locator(".badge.verified").waitFor();
    await page.locator(`#users-table tr[data-username="${STAFF.username}"] .badge.unverified`).waitFor();
    await row.locator("button", { hasText: "Send reset link" }).click();
    await page.waitForSelector(`#flash:has-text('A password reset link is on its way to ${CUSTOMER.email}')`);

    const link = await emailedLink(CUSTOMER.email, "Reset your Corner Shop password", 2);
    await page.goto(link);
    await page.fill("#password", "from-staff-link-44");
    await page.fill("#again", "from-staff-link-44");
    await page.click("#submit");
    await page.waitForSelector("#message.done");
    const login = await http("POST", "/login/", { email: CUSTOMER.email, password: "from-staff-link-44" });
    assert.equal(login.status, 200, JSON.stringify(login.body));
  });
});
