// The staff console: a single page over orderd's JSON API. No framework, no build step.
//
// Tokens live only in this script's memory (never in localStorage, sessionStorage or cookies), so
// a reload asks for the password again. The access token is refreshed shortly before it expires
// and after any 401 token_expired; refresh tokens rotate, so the new one replaces the old, and only
// one refresh runs at a time (a rotated token presented twice would end the whole session).
"use strict";

(() => {
  // --- the API ------------------------------------------------------------------------------------

  // The API's root, relative to this page: "/admin/" -> "/", "/shop/api/admin" -> "/shop/api/".
  const API_ROOT = location.pathname.replace(/admin\/?$/, "");

  const session = { access: null, refresh: null, user: null, timer: null, refreshing: null };

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error) || `HTTP ${status}`);
      this.status = status;
      this.code = (body && body.code) || "http_error";
      this.details = (body && body.details) || {};
    }
  }

  // The server answered and refused the request (4xx): nothing was done, and sending the same
  // request again would be refused again (unlike a network error or a 5xx).
  const refusedByServer = (outcome) => outcome instanceof ApiError && outcome.status >= 400 && outcome.status < 500;

  async function call(method, path, body, token, extra = {}) {
    const headers = { Accept: "application/json", ...extra };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(API_ROOT + path.replace(/^\//, ""), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  // A call with the session's access token; one refresh and retry when the token has expired.
  // `headers`: extra request headers (an Idempotency-Key, so that a retry after a refresh is one action).
  async function api(method, path, body, headers = {}) {
    if (!session.access) throw new ApiError(401, { code: "not_authenticated", error: "Not signed in." });
    try {
      return await call(method, path, body, session.access, headers);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401 || !session.refresh) throw e;
      await refreshTokens();
      return call(method, path, body, session.access, headers);
    }
  }

  function claims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
    } catch {
      return {};
    }
  }

  function adopt(tokens) {
    session.access = tokens.access;
    if (tokens.refresh) session.refresh = tokens.refresh;
    clearTimeout(session.timer);
    const { exp, iat } = claims(tokens.access);
    if (exp) {
      // A minute before expiry, or at 80% of a shorter lifetime.
      const lifetime = exp - (iat || Math.floor(Date.now() / 1000));
      const lead = Math.min(60, lifetime * 0.2);
      const wait = Math.max(1, exp - lead - Date.now() / 1000) * 1000;
      // setTimeout fires at once past 2^31 - 1 ms (24.8 days): a longer wait is taken a day at a time.
      const day = 86400 * 1000;
      session.timer = wait > day
        ? setTimeout(() => adopt(tokens), day)
        : setTimeout(() => refreshTokens().catch(() => {}), wait);
    }
  }

  function refreshTokens() {
    if (!session.refreshing) {
      const token = session.refresh;
      session.refreshing = call("POST", "token/refresh/", { refresh: token })
        .then((tokens) => adopt(tokens))
        .catch((e) => {
          // Only the server's refusal of the refresh token ends the session. A network error or a
          // 5xx (a restart, a blip) keeps it, and what staff were typing, and tries again shortly.
          if (session.refresh !== token) throw e;  // a newer session took over
          if (refusedByServer(e) && e.status !== 429) {
            endSession("Your session has ended. Please sign in again.");
          } else {
            clearTimeout(session.timer);
            session.timer = setTimeout(() => refreshTokens().catch(() => {}), 5000);
          }
          throw e;
        })
        .finally(() => {
          session.refreshing = null;
        });
    }
    return session.refreshing;
  }

  function endSession(message) {
    clearTimeout(session.timer);
    Object.assign(session, { access: null, refresh: null, user: null, timer: null });
    showSignIn(message);
  }

  // --- small DOM helpers ----------------------------------------------------------------------------

  // h("td", {class: "num"}, "12") — text is always set as text, never parsed as HTML.
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const $ = (selector, root = document) => root.querySelector(selector);
  const view = () => $("#view");

  let flashTimer = null;
  function flash(message, bad = false) {
    const box = $("#flash");
    box.textContent = message;
    box.classList.toggle("bad", bad);
    box.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => {
      box.hidden = true;
    }, bad ? 8000 : 4000);
  }

  // Times as the shop's day runs: in `shop_timezone` (the dashboard's `time_zone`), as the dashboard's
  // "today" and the exports count them; UTC until it is known.
  let shopTimeZone = "UTC";
  let whenFormat = null;
  function when(timestamp) {
    if (!timestamp) return "—";
    const utc = timestamp.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC");
    if (shopTimeZone === "UTC") return utc;
    try {
      whenFormat ||= new Intl.DateTimeFormat("en-GB", { timeZone: shopTimeZone, year: "numeric", month: "2-digit",
        day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" });
      const part = Object.fromEntries(whenFormat.formatToParts(new Date(timestamp)).map((p) => [p.type, p.value]));
      return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute} ${part.timeZoneName}`;
    } catch {
      return utc; // a zone this browser does not know
    }
  }

  function learnShop(dashboard) {
    shopCurrency = dashboard.currency || shopCurrency;
    if (dashboard.time_zone && dashboard.time_zone !== shopTimeZone) {
      shopTimeZone = dashboard.time_zone;
      whenFormat = null;
    }
  }

  // Money as people read it, in the shop's currency: the dashboard's `currency` describes it from the
  // same table the emails use (src/common/currency.cpp), so "$1,234.50", "1.234,50 €", "¥1,300" look
  // alike in both. Until it is known (or for text that is not an amount) the API's text is shown.
  let shopCurrency = null;
  function money(text) {
    const c = shopCurrency;
    if (text === null || text === undefined) return "—";
    if (!c || !/^\d+(\.\d{1,2})?$/.test(String(text))) return String(text);
    const [units, cents = ""] = String(text).split(".");
    const fraction = cents.padEnd(2, "0");
    const grouped = units.replace(/\B(?=(\d{3})+(?!\d))/g, c.group_mark);
    const number = c.decimals > 0 || fraction !== "00" ? `${grouped}${c.decimal_mark}${fraction}` : grouped;
    const space = c.spaced ? " " : "";
    return c.symbol_after ? `${number}${space}${c.symbol}` : `${c.symbol}${space}${number}`;
  }
  // Exact sums of the API's decimal strings, in hundredths (never binary fractions).
  const cents = (text) => Math.round(Number(text || 0) * 100);
  const decimal = (hundredths) => `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, "0")}`;

  const badge = (text, kind = text) => h("span", { class: `badge ${kind}` }, text.replace(/_/g, " "));

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
    const text = q.toString();
    return text ? `?${text}` : "";
  }

  // --- the paginated list ---------------------------------------------------------------------------

  // Every list view (products, orders, emails, users) is one pagedList: a table of one page of rows
  // and its pager. The page staff are on lives in the view's state (`state.page`), not in the URL.
  const PAGE_SIZE = 10;

  // The pages `count` rows fill; an empty list still has its page 1, as the API says.
  const pageCount = (count) => Math.max(1, Math.ceil(count / PAGE_SIZE));

  // spec: { id, state, fetchPage, columns, row, empty }
  //   id         the table's id
  //   state      the view's state; state.page is the page to show, and the pager moves it
  //   fetchPage  ({ page, page_size }) => the API's list body for that page
  //   columns    the header cells: "Name", or { label: "Price", num: true } for a right-aligned figure
  //   row        (item) => its <tr>
  //   empty      the text shown when the list has no rows
  //
  // Past the last page (rows archived, cancelled or filtered away since staff chose the page, or by
  // someone else meanwhile: the API answers 404), the list steps back to the last page that exists,
  // asking the API for page=last, and says so beside the pager. Staff stay near the rows they were
  // looking at, rather than being sent to page 1 or shown an error.
  async function pagedList(spec) {
    const { state, fetchPage } = spec;
    const wanted = state.page; // a render started meanwhile may move state.page
    let list;
    let shown = wanted;
    let note = null;
    try {
      list = await fetchPage({ page: wanted, page_size: PAGE_SIZE });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404 && wanted > 1)) throw e;
      list = await fetchPage({ page: "last", page_size: PAGE_SIZE });
      note = `Page ${wanted} no longer exists: this is the last page.`;
      shown = pageCount(list.count);
      state.page = shown;
    }
    return h("div", { class: "paged-list" }, listTable(spec, list.results), pager(state, shown, list, note));
  }

  function listTable({ id, columns, row, empty }, results) {
    if (!results.length) return h("p", { class: "empty" }, empty);
    const head = columns.map((c) => (typeof c === "string" ? h("th", {}, c) : h("th", { class: c.num ? "num" : null }, c.label)));
    return h("table", { id }, h("thead", {}, h("tr", {}, head)), h("tbody", {}, results.map(row)));
  }

  function pager(state, number, list, note) {
    const go = (n) => {
      state.page = n;
      route();
    };
    return h(
      "div",
      { class: "pager" },
      note ? h("span", { class: "note", role: "status" }, note) : null,
      `${list.count} in all · page ${number} of ${pageCount(list.count)}`,
      h("button", { type: "button", disabled: !list.previous, onclick: () => go(number - 1) }, "‹ Previous"),
      h("button", { type: "button", disabled: !list.next, onclick: () => go(number + 1) }, "Next ›"),
    );
  }

  // --- forms and errors -----------------------------------------------------------------------------

  // Field errors from a validation_error's details next to their inputs; the rest as a message.
  function showFieldErrors(form, error) {
    for (const box of form.querySelectorAll(".field-error")) box.textContent = "";
    for (const input of form.querySelectorAll(".invalid")) input.classList.remove("invalid");
    const unplaced = [];
    for (const [field, messages] of Object.entries(error.details || {})) {
      const box = form.querySelector(`.field-error[data-for="${CSS.escape(field)}"]`);
      const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
      if (box) {
        box.textContent = text;
        const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
        if (input) input.classList.add("invalid");
      } else {
        unplaced.push(`${field}: ${text}`);
      }
    }
    if (error.code !== "validation_error" || unplaced.length) flash(unplaced.join(" ") || error.message, true);
  }

  function fail(error) {
    if (error instanceof ApiError && error.status === 401) return; // endSession has shown the sign-in
    flash(error.message || String(error), true);
  }

  // --- signing in and out ---------------------------------------------------------------------------

  function showSignIn(message) {
    $("#nav").hidden = true;
    $("#whoami").hidden = true;
    view().hidden = true;
    view().replaceChildren();
    $("#signin").hidden = false;
    const box = $("#signin-error");
    box.textContent = message || "";
    box.hidden = !message;
    const password = $("#signin-form [name=password]");
    password.value = "";
    $("#signin-form [name=email]").focus();
  }

  async function signIn(event) {
    event.preventDefault();
    const form = event.target;
    const button = form.querySelector("button[type=submit]");
    const fields = { email: form.email.value.trim(), password: form.password.value };
    $("#signin-error").hidden = true;
    button.disabled = true;
    try {
      adopt(await call("POST", "login/", fields));
      session.user = await api("GET", "user/");
      // The API decides who is staff: a customer's token gets 403 from every staff route.
      try {
        learnShop(await api("GET", "admin/dashboard/"));
      } catch (e) {
        if (e instanceof ApiError && e.status === 403) {
          await signOut(false);
          showForbidden(e);
          return;
        }
        throw e;
      }
      form.password.value = "";
      showForbiddenOff();
      $("#signin").hidden = true;
      $("#nav").hidden = false;
      $("#whoami").hidden = false;
      $("#whoami-name").textContent = session.user.username;
      view().hidden = false;
      if (!location.hash || location.hash === "#/") location.hash = "#/dashboard";
      else route();
    } catch (e) {
      // Signed in but the console could not start (the server failed): leave no session behind.
      if (session.refresh) await signOut(false);
      if (e instanceof ApiError && e.code === "validation_error") {
        showFieldErrors(form, e);
      } else {
        const box = $("#signin-error");
        box.textContent = e.message;
        box.hidden = false;
      }
    } finally {
      button.disabled = false;
    }
  }

  function showForbidden(error) {
    showSignIn();
    const box = $("#signin-error");
    box.replaceChildren(
      h("strong", {}, "This console is for staff."),
      " ",
      `The API answered: ${error.message} (${error.status} ${error.code}).`,
    );
    box.hidden = false;
    box.dataset.forbidden = "true";
  }

  function showForbiddenOff() {
    delete $("#signin-error").dataset.forbidden;
  }

  async function signOut(show = true) {
    const refresh = session.refresh;
    clearTimeout(session.timer);
    Object.assign(session, { access: null, refresh: null, user: null, timer: null });
    if (refresh) {
      try {
        await call("POST", "logout/", { refresh });
      } catch {
        // Already ended (expired, revoked): nothing more to end.
      }
    }
    if (show) showSignIn("You are signed out.");
  }

  // --- views ----------------------------------------------------------------------------------------

  const views = { dashboard, products, orders, emails, users, webhooks };

  // Each navigation counts; a view draws only while its navigation is the latest, so a slow view (the
  // dashboard still loading after sign-in) cannot cover the one staff went to since.
  let navigations = 0;

  function route() {
    if (!session.access) return;
    const navigation = ++navigations;
    // A view may pass null for a part it leaves out (replaceChildren would print "null").
    const show = (...nodes) => {
      if (navigation === navigations) view().replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
    };
    const [name, id, sub] = location.hash.replace(/^#\/?/, "").split("/");
    const render = views[name] || dashboard;
    for (const link of document.querySelectorAll("#nav a")) {
      link.classList.toggle("active", link.dataset.view === (views[name] ? name : "dashboard"));
    }
    view().replaceChildren(h("p", { class: "muted" }, "Loading…"));
    render(id, show, sub).catch((error) => {
      fail(error);
      // Not "Loading…" for ever: say what failed, and offer the same view again.
      if (error instanceof ApiError && error.status === 401) return;
      show(h("div", { class: "card", id: "view-error" }, h("h2", {}, "This page could not be loaded"),
        h("p", { class: "error" }, error.message || String(error)),
        h("button", { type: "button", class: "primary", onclick: () => route() }, "Try again")));
    });
  }

  // Dashboard ---------------------------------------------------------------------------------------

  async function dashboard(_id, show) {
    const d = await api("GET", "admin/dashboard/");
    learnShop(d);
    const stat = (label, value, sub, attrs = {}) =>
      h("div", { class: "stat", ...attrs }, h("div", { class: "label" }, label), h("div", { class: "value" }, value),
        sub ? h("div", { class: "sub" }, sub) : null);
    show(
      h("h1", {}, "Dashboard"),
      h(
        "div",
        { class: "stats" },
        stat("Orders today", d.orders_today, `${d.date} (${d.time_zone || "UTC"})`, { id: "stat-orders" }),
        stat("Revenue today", money(d.revenue_today), `${d.paid_orders_today} ${d.paid_orders_today === 1 ? "order" : "orders"} paid`, { id: "stat-revenue" }),
        stat("Low stock", d.low_stock_count, `products with fewer than ${d.low_stock_below}`,
             { id: "stat-low-stock", class: d.low_stock_count ? "stat alert" : "stat" }),
        stat("Failed emails", d.emails_failed, `${d.emails_pending} waiting to be sent`,
             { id: "stat-failed-emails", class: d.emails_failed ? "stat alert" : "stat" }),
      ),
      h(
        "div",
        { class: "card" },
        h("h2", {}, "Low-stock products"),
        d.low_stock.length
          ? h(
              "table",
              { id: "low-stock" },
              h("thead", {}, h("tr", {}, h("th", {}, "Product"), h("th", { class: "num" }, "Price"),
                h("th", { class: "num" }, "Stock"))),
              h("tbody", {}, d.low_stock.map((p) => h("tr", {}, h("td", {}, h("a", { href: `#/products/${p.id}` }, p.name)),
                h("td", { class: "num" }, money(p.price)), h("td", { class: "num" }, p.stock)))),
            )
          : h("p", { class: "empty" }, "Every product has enough stock."),
        d.low_stock_count > d.low_stock.length
          ? h("p", { class: "muted" }, `and ${d.low_stock_count - d.low_stock.length} more`)
          : null,
      ),
      // The chart is extra: if its figures cannot be had, today's above still show.
      await salesCard().catch((e) => h("div", { class: "card", id: "sales" }, h("p", { class: "error" }, e.message))),
    );
  }

  // Sales over time (issue #22) ----------------------------------------------------------------------
  //
  // GET admin/dashboard/sales/?days= gives each day of the shop's time zone; the chart is drawn here as
  // inline SVG (no chart library): for each day a group of bars, one per figure, all on one scale,
  // each with a <title> that a pointer's hover shows. The same numbers are in a table beneath it, for
  // screen readers and for copying.

  const SALES_PERIODS = [7, 30, 90];
  const SALES_FIGURES = [
    { key: "placed", label: "Placed" },
    { key: "paid", label: "Paid" },
    { key: "refunded", label: "Refunded" },
    { key: "cancelled", label: "Cancelled" },
  ];
  const salesState = { days: 30 };
  const SVG = "http://www.w3.org/2000/svg";

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  async function salesCard() {
    const s = await api("GET", `admin/dashboard/sales/${query({ days: salesState.days })}`);
    const choose = (days) => {
      salesState.days = days;
      route();
    };
    return h("div", { class: "card", id: "sales" },
      h("div", { class: "panel-head" }, h("h2", {}, `Sales, last ${s.days} days`),
        h("span", { class: "muted" }, `${s.from} – ${s.to} (${s.time_zone})`),
        h("div", { class: "periods", role: "group", "aria-label": "Period" },
          SALES_PERIODS.map((days) => h("button", { type: "button", "aria-pressed": String(days === s.days),
            class: days === s.days ? "primary" : null, dataset: { days }, onclick: () => choose(days) }, `${days} days`)))),
      salesChart(s),
      h("p", { class: "legend" }, SALES_FIGURES.map((f) => h("span", { class: `key ${f.key}` }, f.label)),
        h("span", { class: "key revenue" }, "Revenue (line)")),
      salesTable(s),
      topProducts(s));
  }

  // One bar per figure per day; heights are value × (plot height / the largest value), so equal
  // numbers draw equal bars whatever the day.
  function salesChart(s) {
    const width = 900, height = 220, left = 36, bottom = 24, top = 8;
    const plot = height - bottom - top;
    const largest = Math.max(1, ...s.series.flatMap((d) => SALES_FIGURES.map((f) => d[f.key])));
    const group = (width - left) / s.series.length;
    const bar = Math.max(1, (group * 0.8) / SALES_FIGURES.length);
    const chart = svg("svg", { id: "sales-chart", viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `Orders and revenue per day, last ${s.days} days; the table below has the figures`,
      "data-scale": String(plot / largest) });
    chart.append(svg("line", { x1: left, y1: top + plot, x2: width, y2: top + plot, class: "axis" }),
      svg("text", { x: left - 4, y: top + 10, class: "tick", "text-anchor": "end" }, largest),
      svg("text", { x: left - 4, y: top + plot, class: "tick", "text-anchor": "end" }, 0));
    s.series.forEach((d, i) => {
      const x0 = left + i * group + group * 0.1;
      SALES_FIGURES.forEach((f, j) => {
        const value = d[f.key];
        const h_ = (value * plot) / largest;
        const amount = f.key === "paid" ? ` (${money(d.revenue)})` : f.key === "refunded" ? ` (${money(d.refunded_amount)})` : "";
        chart.append(svg("rect", { class: `bar ${f.key}`, x: x0 + j * bar, y: top + plot - h_, width: bar, height: h_,
          "data-date": d.date, "data-figure": f.key, "data-value": value },
          svg("title", {}, `${d.date}: ${value} ${f.label.toLowerCase()}${amount}`)));
      });
      const every = Math.ceil(s.series.length / 10);
      if (i % every === 0) chart.append(svg("text", { x: x0, y: height - 6, class: "tick" }, d.date.slice(5)));
    });
    revenueLine(chart, s, { left, top, plot, group });
    return chart;
  }

  // Revenue per day as a line over the bars, on a scale of its own (`data-revenue-scale`: pixels per
  // unit of money; the line's hover text names its top), one point per day with the amount on hover.
  function revenueLine(chart, s, { left, top, plot, group }) {
    const largest = Math.max(1, ...s.series.map((d) => Number(d.revenue)));
    const scale = plot / largest;
    chart.setAttribute("data-revenue-scale", String(scale));
    const points = s.series.map((d, i) => ({ d, x: left + i * group + group / 2, y: top + plot - Number(d.revenue) * scale }));
    chart.append(svg("polyline", { class: "revenue", points: points.map((p) => `${p.x},${p.y}`).join(" ") },
      svg("title", {}, `Revenue per day; the top of the chart is ${money(largest.toFixed(2))}`)));
    for (const p of points) {
      chart.append(svg("circle", { class: "point revenue", cx: p.x, cy: p.y, r: 3, "data-date": p.d.date, "data-value": p.d.revenue },
        svg("title", {}, `${p.d.date}: ${money(p.d.revenue)} revenue`)));
    }
  }

  function salesTable(s) {
    const row = (label, d, attrs = {}) => h("tr", attrs, h("th", { scope: "row" }, label),
      h("td", { class: "num" }, d.placed), h("td", { class: "num" }, d.paid), h("td", { class: "num" }, money(d.revenue)),
      h("td", { class: "num" }, d.refunded), h("td", { class: "num" }, money(d.refunded_amount)), h("td", { class: "num" }, d.cancelled));
    return h("table", { id: "sales-table" },
      h("caption", { class: "muted" }, "Orders per day: placed, paid (by payment time), refunded and cancelled"),
      h("thead", {}, h("tr", {}, h("th", {}, "Day"), ["Placed", "Paid", "Revenue", "Refunded", "Refunded amount", "Cancelled"]
        .map((c) => h("th", { class: "num", scope: "col" }, c)))),
      h("tbody", {}, s.series.map((d) => row(d.date, d, { dataset: { date: d.date } }))),
      h("tfoot", {}, row("Total", s.totals, { class: "total" })));
  }

  function topProducts(s) {
    return h("div", {}, h("h2", { class: "section" }, "Top products"),
      s.top_products.length
        ? h("table", { id: "top-products" },
            h("thead", {}, h("tr", {}, h("th", {}, "Product"), h("th", { class: "num" }, "Units"), h("th", { class: "num" }, "Revenue"))),
            h("tbody", {}, s.top_products.map((p) => h("tr", { dataset: { id: p.product_id } },
              h("td", {}, h("a", { href: `#/products/${p.product_id}` }, p.product)),
              h("td", { class: "num" }, p.units), h("td", { class: "num" }, money(p.revenue))))))
        : h("p", { class: "empty" }, "Nothing was paid in this period."));
  }

  // Downloads (issue #22): the exports need the access token, which a plain link cannot send, so the
  // file is fetched with it and handed to the browser as a blob with the server's file name.
  async function download(path, fallbackName) {
    const fetchIt = () => fetch(API_ROOT + path, { headers: { Authorization: `Bearer ${session.access}` },
      credentials: "omit", cache: "no-store" });
    let response = await fetchIt();
    if (response.status === 401 && session.refresh) {
      await refreshTokens();
      response = await fetchIt();
    }
    if (!response.ok) {
      let body = null;
      try {
        body = await response.json();
      } catch {
        body = null;
      }
      throw new ApiError(response.status, body);
    }
    const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const url = URL.createObjectURL(await response.blob());
    const link = h("a", { href: url, download: named ? named[1] : fallbackName, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  function downloadButton(id, label, path, name) {
    return h("button", { type: "button", id, onclick: () => download(path(), name).then(() => flash(`${name} downloaded.`), fail) }, label);
  }

  // Products ----------------------------------------------------------------------------------------

  const productState = { search: "", page: 1 };

  async function products(selected, show) {
    const list = await pagedList({
      id: "products-table",
      state: productState,
      fetchPage: (paging) => api("GET", `store/products/${query({ search: productState.search, ...paging })}`),
      columns: ["ID", "Name", "Description", { label: "Price", num: true }, { label: "Stock", num: true }, ""],
      row: (p) =>
        h("tr", { class: String(p.id) === selected ? "selected" : null, dataset: { id: p.id, name: p.name } },
          h("td", {}, p.id), h("td", {}, p.name), h("td", { class: "clip", title: p.description }, p.description),
          h("td", { class: "num" }, money(p.price)), h("td", { class: "num stock" }, p.stock),
          h("td", { class: "actions" },
            h("button", { type: "button", onclick: () => { location.hash = `#/products/${p.id}`; } }, "Edit"),
            h("button", { type: "button", class: "danger", onclick: () => archiveProduct(p) }, "Archive"))),
      empty: productState.search ? "No product matches." : "No products yet.",
    });
    const editing = selected ? await toEdit(`store/products/${selected}/`) : null;
    const search = h("input", { type: "search", name: "search", placeholder: "Search products by name", "aria-label": "Search products by name", value: productState.search });
    const form = editing && editing.missing ? productMissing(selected) : productForm(editing);
    show(
      h("h1", {}, "Products"),
      h(
        "div",
        { class: "split" },
        h(
          "div",
          { class: "card" },
          h(
            "form",
            { class: "toolbar", id: "product-search", onsubmit: (e) => {
              e.preventDefault();
              productState.search = search.value.trim();
              productState.page = 1;
              route();
            } },
            search,
            h("button", { type: "submit" }, "Search"),
            h("span", { class: "grow" }),
            downloadButton("download-products", "Download CSV", () => "store/products/export.csv", "products.csv"),
            h("button", { type: "button", class: "primary", id: "new-product", onclick: () => {
              location.hash = "#/products";
              if (!selected) route();
            } }, "New product"),
          ),
          list,
        ),
        form,
      ),
    );
  }

  // What a link to edit names (#/products/ID, #/webhooks/ID/edit), or { missing: true } when the API
  // has none by that id (archived or deleted since the link was made, or never there). Any other
  // failure is the view's.
  async function toEdit(path) {
    try {
      return await api("GET", path);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return { missing: true };
      throw e;
    }
  }

  // Not an empty "New product" form in its place: saving that created a second product.
  function productMissing(id) {
    return h("div", { class: "card", id: "product-missing" }, h("h2", {}, `Product #${id}`),
      h("p", {}, "It is not in the catalogue: it was archived, or the link is wrong. Orders that contain it keep it."),
      h("button", { type: "button", onclick: () => { location.hash = "#/products"; } }, "New product"));
  }

  // An amount as typed: "12,50" (a decimal comma, as much of Europe types it) is 12.50; anything else,
  // "1,000" among it (a thousands mark, or three decimals?), goes as typed for the API to explain.
  const amountText = (text) => {
    const t = text.trim();
    return /^\d+,\d{1,2}$/.test(t) ? t.replace(",", ".") : t;
  };

  // A whole number goes as a number, anything else as typed, so the API's own messages explain it.
  const wholeOr = (text) => (/^[+-]?\d+$/.test(text) ? Number(text) : text);

  // A new product: every field.
  function newProductBody(form) {
    return {
      name: form.name.value,
      description: form.description.value,
      price: amountText(form.price.value),
      stock: wholeOr(form.stock.value.trim()),
    };
  }

  // An edit sends only what staff changed, never the figures as they were when the page loaded:
  // orders keep taking stock meanwhile. Each change is conditional on what staff saw: a new absolute
  // stock on the stock (expected_stock: 409 stock_changed if it moved), a name, description or price
  // on that field (expected_name, ...: 409 product_changed if other staff changed it meanwhile);
  // "Receive" is relative (stock_adjustment).
  function changedFields(form, product) {
    const body = {};
    // What the browser makes of a value it shows: an <input> drops line breaks, a <textarea> turns
    // CR LF into LF. Compared as they came, a name or a description with them (from the API or an
    // import) always counted as changed, and went out with the other fields' saves.
    const asInput = (text) => text.replace(/[\r\n]/g, "");
    const asTextarea = (text) => text.replace(/\r\n?/g, "\n");
    if (form.name.value !== asInput(product.name)) {
      Object.assign(body, { name: form.name.value, expected_name: product.name });
    }
    if (form.description.value !== asTextarea(product.description)) {
      Object.assign(body, { description: form.description.value, expected_description: product.description });
    }
    const price = amountText(form.price.value);
    if (price !== product.price) Object.assign(body, { price, expected_price: product.price });
    const stock = form.stock.value.trim();
    if (stock !== String(product.stock)) Object.assign(body, { stock: wholeOr(stock), expected_stock: product.stock });
    const received = form.stock_adjustment.value.trim();
    if (received !== "") body.stock_adjustment = wholeOr(received);
    return body;
  }

  // 409 stock_changed: orders (or other staff) moved the stock since the form was loaded and nothing
  // was saved. The form takes the current figure as the one staff have now seen, and says so.
  function stockMoved(form, product, error) {
    product.stock = error.details.stock;
    $("#stock-seen", form).textContent = String(product.stock);
    const message = `The stock is ${error.details.stock} now, not ${error.details.expected_stock}: orders or other ` +
      "staff changed it while you were editing. Nothing was saved. Check the figure (or use Receive) and save again.";
    return { code: "validation_error", details: { stock: [message] } };
  }

  // 409 product_changed: other staff changed a field this edit changes, and nothing was saved. Each
  // such field says what it is now and keeps what this member of staff typed; the form takes the
  // new value as the one seen, so saving again replaces it knowingly.
  function productChanged(product, error) {
    const details = {};
    for (const [field, now] of Object.entries(error.details.changed || {})) {
      product[field] = now;
      const shown = now.length > 80 ? `${now.slice(0, 80)}…` : now;
      details[field] = [`Other staff changed this to "${shown}" while you were editing. Nothing was saved. ` +
        "Save again to replace it with yours."];
    }
    return { code: "validation_error", details };
  }

  function productForm(product) {
    const field = (name, label, input, hint) =>
      h("div", { class: name === "description" ? "wide" : null }, h("label", {}, label, input), hint || null,
        h("div", { class: "field-error", dataset: { for: name } }));
    const stockHint = product
      ? h("div", { class: "hint muted" }, "Saved only if it is still ", h("span", { id: "stock-seen" }, String(product.stock)), ".")
      : null;
    const form = h(
      "form",
      { id: "product-form", novalidate: true },
      h("div", { class: "form-grid" },
        field("name", "Name", h("input", { name: "name", value: product ? product.name : "", required: true, maxlength: 200 })),
        field("price", "Price", h("input", { name: "price", value: product ? product.price : "", inputmode: "decimal", placeholder: "0.00" })),
        field("stock", "Stock", h("input", { name: "stock", value: product ? product.stock : "", inputmode: "numeric", placeholder: "0" }), stockHint),
        product
          ? field("stock_adjustment", "Receive (or remove) units",
              h("input", { name: "stock_adjustment", inputmode: "numeric", placeholder: "+10 or -2" }),
              h("div", { class: "hint muted" }, "Added to the stock as it is when you save."))
          : null,
        field("description", "Description", h("textarea", { name: "description" }, product ? product.description : ""))),
      h("div", { class: "field-error", dataset: { for: "non_field_errors" } }),
      h("button", { type: "submit", class: "primary" }, product ? "Save changes" : "Create product"),
      product ? h("button", { type: "button", style: "margin-left:8px", onclick: () => { location.hash = "#/products"; } }, "Cancel") : null,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = product ? changedFields(form, product) : newProductBody(form);
      if (product && !Object.keys(body).length) {
        flash("Nothing to save: no field was changed.");
        return;
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const saved = product
          ? await api("PATCH", `store/products/${product.id}/`, body)
          : await api("POST", "store/products/", body);
        flash(product ? `Saved ${saved.name}.` : `Created ${saved.name}.`);
        if (!product) productState.search = "";
        if (location.hash === `#/products/${saved.id}`) route();
        else location.hash = `#/products/${saved.id}`;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return;
        showFieldErrors(form, e.code === "stock_changed" ? stockMoved(form, product, e)
          : e.code === "product_changed" ? productChanged(product, e) : e);
      } finally {
        button.disabled = false;
      }
    });
    return h("div", { class: "card" }, h("h2", {}, product ? `Edit product #${product.id}` : "New product"), form);
  }

  async function archiveProduct(p) {
    if (!confirm(`Archive "${p.name}"? It leaves the catalogue; orders that contain it keep it.`)) return;
    try {
      await api("DELETE", `store/products/${p.id}/`);
      flash(`Archived ${p.name}.`);
      location.hash = "#/products";
      route();
    } catch (e) {
      fail(e);
    }
  }

  // Orders ------------------------------------------------------------------------------------------

  const orderState = { status: "", search: "", page: 1 };

  // The order statuses as the API names them, and how the console treats each: its label, whether
  // the order holds its stock until `expires_at`, and what staff may do to it. The status filter, the
  // badges and the detail panel read only this table (the order's life itself is the server's, in
  // orders/). A status the console does not know yet shows its name and offers no action.
  const ORDER_STATUSES = {
    pending_payment: { label: "pending payment", holdsStock: true, actions: ["cancel"] },
    paid: { label: "paid", holdsStock: false, actions: ["ship", "refund", "return", "cancel"] },
    cancelled: { label: "cancelled", holdsStock: false, actions: [] },
    expired: { label: "expired", holdsStock: false, actions: [] },
  };
  const orderStatus = (name) => ORDER_STATUSES[name] || { label: name.replace(/_/g, " "), holdsStock: false, actions: [] };
  const orderBadge = (name) => badge(orderStatus(name).label, name);

  // What happened to a paid order since, for the list: a refunded order showed only "paid".
  function afterPayment(o) {
    const refunded = ["partially_refunded", "refunded"].includes(o.payment_status) ? badge(o.payment_status) : null;
    const moved = o.fulfilment_status && o.fulfilment_status !== "not_fulfilled" ? badge(o.fulfilment_status) : null;
    return [refunded, moved];
  }

  async function orders(selected, show) {
    const list = await pagedList({
      id: "orders-table",
      state: orderState,
      fetchPage: (paging) => api("GET", `admin/orders/${query({ status: orderState.status, search: orderState.search, ...paging })}`),
      columns: ["Order", "Customer", "Status", { label: "Total", num: true }, "Placed", { label: "Items", num: true }],
      row: (o) =>
        h("tr", { class: String(o.id) === selected ? "selected" : null, dataset: { id: o.id } },
          h("td", {}, h("a", { href: `#/orders/${o.id}` }, `#${o.id}`)), h("td", {}, o.customer),
          h("td", { class: "order-state" }, orderBadge(o.status), afterPayment(o)), h("td", { class: "num" }, money(o.total_amount)), h("td", { class: "when" }, when(o.created_at)),
          h("td", { class: "num" }, o.items.reduce((n, i) => n + i.quantity, 0))),
      empty: "No orders match.",
    });
    const detail = selected ? await api("GET", `admin/orders/${selected}/`).catch((e) => e) : null;
    const status = h("select", { name: "status", "aria-label": "Order status" }, h("option", { value: "" }, "All statuses"),
      Object.entries(ORDER_STATUSES).map(([s, { label }]) => h("option", { value: s, selected: s === orderState.status }, label)));
    const search = h("input", { type: "search", name: "search", placeholder: "Customer username or email",
      "aria-label": "Search orders by customer username or email", value: orderState.search });
    show(
      h("h1", {}, "Orders"),
      h(
        "div",
        { class: detail ? "split" : "split single" },
        h(
          "div",
          { class: "card" },
          h("form", { class: "toolbar", id: "order-filter", onsubmit: (e) => {
            e.preventDefault();
            Object.assign(orderState, { status: status.value, search: search.value.trim(), page: 1 });
            route();
          } }, status, search, h("button", { type: "submit" }, "Filter"), h("span", { class: "grow" }),
            downloadButton("download-orders", "Download CSV",
              () => `admin/orders/export.csv${query({ status: orderState.status, search: orderState.search })}`, "orders.csv")),
          list,
        ),
        detail ? orderDetail(detail) : null,
      ),
    );
  }

  // What each line of an order holds: ordered, shipped (by its fulfilments), returned (by its
  // returns), so the forms offer only what can still be shipped or returned.
  function lineCounts(o) {
    const lines = new Map(o.items.map((i) => [i.product_id, { ...i, shipped: 0, returned: 0 }]));
    const add = (list, key) => {
      for (const entry of list || []) for (const i of entry.items || []) if (lines.has(i.product_id)) lines.get(i.product_id)[key] += i.quantity;
    };
    add(o.fulfilments, "shipped");
    add(o.returns, "returned");
    return [...lines.values()];
  }

  // What may still be refunded: what was paid, less refunds that succeeded or are with the gateway.
  function refundable(o) {
    if (!["paid", "partially_refunded"].includes(o.payment_status || (o.status === "paid" ? "paid" : ""))) return 0;
    const held = (o.refunds || []).filter((r) => r.status !== "failed").reduce((n, r) => n + cents(r.amount), 0);
    return Math.max(0, cents(o.total_amount) - held);
  }

  // Which of the status's actions the order's two axes allow now (the server decides again).
  function possibleActions(o) {
    const lines = lineCounts(o);
    const shipped = lines.some((l) => l.shipped > 0);
    const allowed = {
      cancel: o.status === "pending_payment" || !shipped,
      ship: lines.some((l) => l.quantity > l.shipped) && o.payment_status !== "refunded",
      refund: refundable(o) > 0,
      return: lines.some((l) => l.shipped > l.returned),
    };
    return orderStatus(o.status).actions.filter((a) => allowed[a]);
  }

  // Runs a staff action after a confirmation that states what it does and the amount involved.
  // While it is on its way, the same action again (a second click) is ignored: two clicks on
  // "Ship…" made two shipments. Returns true when done, the error when it failed, false otherwise.
  const actionsInFlight = new Set();
  async function act(question, method, path, body, done, headers) {
    const what = `${method} ${path}`;
    if (actionsInFlight.has(what) || !confirm(question)) return false;
    actionsInFlight.add(what);
    try {
      await api(method, path, body, headers);
      flash(done);
      route();
      return true;
    } catch (e) {
      fail(e);
      return e;
    } finally {
      actionsInFlight.delete(what);
    }
  }

  const itemsWorth = (lines, counts) => lines.reduce((n, l) => n + cents(l.price) * (counts[l.product_id] || 0), 0);
  const unitsText = (n) => `${n} ${n === 1 ? "item" : "items"}`;

  function shipForm(o) {
    const lines = lineCounts(o).filter((l) => l.quantity > l.shipped);
    const form = h("form", { id: "ship-form", class: "action-form" },
      h("h3", {}, "Ship"),
      h("table", {}, h("tbody", {}, lines.map((l) => h("tr", {}, h("td", {}, l.product),
        h("td", { class: "num" }, h("input", { name: `qty-${l.product_id}`, "aria-label": `Units of ${l.product} to ship`, type: "number", min: 0, max: l.quantity - l.shipped,
          value: l.quantity - l.shipped, class: "qty" })), h("td", { class: "muted" }, `of ${l.quantity - l.shipped} unshipped`))))),
      h("div", { class: "form-grid" },
        h("label", {}, "Carrier", h("input", { name: "carrier", required: true, placeholder: "DHL" })),
        h("label", {}, "Tracking number", h("input", { name: "tracking_number", required: true })),
        h("label", { class: "wide" }, "Tracking URL", h("input", { name: "tracking_url", type: "url", placeholder: "https://" }))),
      h("button", { type: "submit" }, "Ship…"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const counts = Object.fromEntries(lines.map((l) => [l.product_id, Number(form[`qty-${l.product_id}`].value) || 0]));
      const items = lines.filter((l) => counts[l.product_id] > 0).map((l) => ({ product_id: l.product_id, quantity: counts[l.product_id] }));
      const units = items.reduce((n, i) => n + i.quantity, 0);
      const body = { items, carrier: form.carrier.value.trim(), tracking_number: form.tracking_number.value.trim(),
        tracking_url: form.tracking_url.value.trim() };
      act(`Ship ${unitsText(units)} of order #${o.id} (worth ${money(decimal(itemsWorth(lines, counts)))}) with ${body.carrier}? ` +
          "The customer is emailed the tracking.", "POST", `admin/orders/${o.id}/fulfilments/`, body, `Order #${o.id}: ${unitsText(units)} shipped.`);
    });
    return form;
  }

  function refundForm(o) {
    // One refund however often this form is sent; once the server has refused it (nothing was
    // done), a corrected one is a new request and gets a new key.
    let key = crypto.randomUUID();
    const form = h("form", { id: "refund-form", class: "action-form" },
      h("h3", {}, "Refund"),
      h("div", { class: "form-grid" },
        h("label", {}, `Amount (at most ${money(decimal(refundable(o)))})`,
          h("input", { name: "amount", inputmode: "decimal", value: decimal(refundable(o)), required: true })),
        h("label", {}, "Reason", h("input", { name: "reason", required: true }))),
      h("button", { type: "submit" }, "Refund…"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const body = { amount: amountText(form.amount.value), reason: form.reason.value.trim() };
      act(`Refund ${money(body.amount)} of order #${o.id} to ${o.customer}'s card?`, "POST", `admin/orders/${o.id}/refunds/`, body,
          `Order #${o.id}: refund of ${money(body.amount)} sent.`, { "Idempotency-Key": key })
        .then((outcome) => { if (refusedByServer(outcome)) key = crypto.randomUUID(); });
    });
    return form;
  }

  function returnForm(o) {
    const lines = lineCounts(o).filter((l) => l.shipped > l.returned);
    let key = crypto.randomUUID();  // one return however often this form is sent; a new one after a refusal
    const form = h("form", { id: "return-form", class: "action-form" },
      h("h3", {}, "Return"),
      h("table", {}, h("tbody", {}, lines.map((l) => h("tr", {}, h("td", {}, l.product),
        h("td", { class: "num" }, h("input", { name: `qty-${l.product_id}`, "aria-label": `Units of ${l.product} returned`, type: "number", min: 0,
          max: l.shipped - l.returned, value: 0, class: "qty" })),
        h("td", {}, h("label", { class: "check" }, h("input", { name: `restock-${l.product_id}`, type: "checkbox", checked: true }), "restock")))))),
      h("div", { class: "form-grid" },
        h("label", {}, "Refund (empty: the items' price)", h("input", { name: "refund", inputmode: "decimal" })),
        h("label", {}, "Reason", h("input", { name: "reason", required: true }))),
      h("button", { type: "submit" }, "Record return…"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const counts = Object.fromEntries(lines.map((l) => [l.product_id, Number(form[`qty-${l.product_id}`].value) || 0]));
      const items = lines.filter((l) => counts[l.product_id] > 0)
        .map((l) => ({ product_id: l.product_id, quantity: counts[l.product_id], restock: form[`restock-${l.product_id}`].checked }));
      const refund = amountText(form.refund.value) || decimal(Math.min(itemsWorth(lines, counts), refundable(o)));
      const units = items.reduce((n, i) => n + i.quantity, 0);
      act(`Record the return of ${unitsText(units)} of order #${o.id} and refund ${money(refund)} to ${o.customer}'s card?`,
          "POST", `admin/orders/${o.id}/returns/`, { items, refund, reason: form.reason.value.trim() },
          `Order #${o.id}: return recorded, ${money(refund)} refunded.`, { "Idempotency-Key": key })
        .then((outcome) => { if (refusedByServer(outcome)) key = crypto.randomUUID(); });
    });
    return form;
  }

  function cancelOrder(o) {
    const refund = refundable(o);
    const question = o.status === "pending_payment"
      ? `Cancel order #${o.id}? Its stock returns to the catalogue. It was not paid: nothing is refunded.`
      : `Cancel order #${o.id} and refund ${money(decimal(refund))} to ${o.customer}'s card? Its stock returns to the catalogue.`;
    const done = o.status === "pending_payment" ? `Order #${o.id} cancelled; its stock is back.`
      : `Order #${o.id} cancelled and ${money(decimal(refund))} refunded; its stock is back.`;
    return act(question, "POST", `admin/orders/${o.id}/cancel/`, undefined, done, { "Idempotency-Key": crypto.randomUUID() });
  }

  function markDelivered(o, f) {
    const units = (f.items || []).reduce((n, i) => n + i.quantity, 0);
    const worth = (f.items || []).reduce((n, i) => n + cents((o.items.find((l) => l.product_id === i.product_id) || {}).price) * i.quantity, 0);
    return act(`Mark shipment #${f.id} of order #${o.id} (${unitsText(units)}, worth ${money(decimal(worth))}) delivered?`,
      "POST", `admin/orders/${o.id}/fulfilments/${f.id}/delivered/`, undefined, `Shipment #${f.id} delivered.`);
  }

  function shipmentsTable(o, canDeliver) {
    if (!(o.fulfilments || []).length) return h("p", { class: "empty" }, "Nothing shipped.");
    return h("table", { id: "order-fulfilments" },
      h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Items"), h("th", {}, "Tracking"), h("th", {}, "Shipped"), h("th", {}, "Delivered"))),
      h("tbody", {}, o.fulfilments.map((f) => h("tr", { dataset: { id: f.id } }, h("td", {}, f.id),
        h("td", {}, (f.items || []).map((i) => `${i.quantity} × ${i.product}`).join(", ")),
        h("td", {}, `${f.carrier} ${f.tracking_number}`),
        h("td", { class: "when" }, when(f.shipped_at)),
        h("td", {}, f.delivered_at ? when(f.delivered_at)
          : canDeliver ? h("button", { type: "button", class: "deliver", onclick: () => markDelivered(o, f) }, "Mark delivered") : "—")))));
  }

  function refundsTable(o) {
    if (!(o.refunds || []).length) return h("p", { class: "empty" }, "No refunds.");
    return h("table", { id: "order-refunds" },
      h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", { class: "num" }, "Amount"), h("th", {}, "Status"), h("th", {}, "Reason"), h("th", {}, "When"))),
      h("tbody", {}, o.refunds.map((r) => h("tr", { dataset: { id: r.id } }, h("td", {}, r.id), h("td", { class: "num" }, money(r.amount)),
        h("td", {}, badge(r.status)), h("td", {}, r.reason), h("td", { class: "when" }, when(r.created_at))))));
  }

  // The units a return put back on the shelf (`restocked`, as the server counted them).
  function restockedText(i) {
    const restocked = i.restocked ?? (i.restock ? i.quantity : 0);
    if (!restocked) return "";
    return restocked === i.quantity ? " (restocked)" : ` (${restocked} restocked)`;
  }

  function returnsTable(o) {
    if (!(o.returns || []).length) return h("p", { class: "empty" }, "No returns.");
    return h("table", { id: "order-returns" },
      h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Items"), h("th", {}, "Reason"), h("th", {}, "When"))),
      h("tbody", {}, o.returns.map((r) => h("tr", { dataset: { id: r.id } }, h("td", {}, r.id),
        h("td", {}, (r.items || []).map((i) => `${i.quantity} × ${i.product}${restockedText(i)}`).join(", ")),
        h("td", {}, r.reason), h("td", { class: "when" }, when(r.created_at))))));
  }

  function paymentsTable(o) {
    if (!o.payments.length) return h("p", { class: "empty" }, "No payment attempts.");
    return h("table", { id: "order-payments" },
      h("thead", {}, h("tr", {}, h("th", {}, "Card"), h("th", {}, "Outcome"), h("th", { class: "num" }, "Amount"), h("th", {}, "When"))),
      h("tbody", {}, o.payments.map((p) => h("tr", {},
        h("td", {}, `${p.card_brand} ···· ${p.card_last4}`),
        h("td", {}, badge(p.status), p.decline_code ? ` ${p.decline_code.replace(/_/g, " ")}` : ""),
        h("td", { class: "num" }, money(p.amount)), h("td", {}, when(p.created_at))))));
  }

  function orderDetail(o) {
    if (o instanceof Error) return h("div", { class: "card" }, h("p", { class: "error" }, o.message));
    const status = orderStatus(o.status);
    const actions = possibleActions(o);
    const forms = { ship: shipForm, refund: refundForm, return: returnForm };
    const slot = h("div", { id: "order-action" });
    const open = (name) => slot.replaceChildren(forms[name](o));
    const labels = { ship: "Ship", refund: "Refund", return: "Return" };
    return h(
      "div",
      { class: "card", id: "order-detail" },
      h("div", { class: "panel-head" }, h("h2", {}, `Order #${o.id}`), orderBadge(o.status),
        actions.includes("cancel")
          ? h("button", { type: "button", class: "danger", id: "cancel-order", onclick: () => cancelOrder(o) }, "Cancel order")
          : null),
      h("dl", { class: "facts" },
        h("dt", {}, "Customer"), h("dd", {}, `${o.customer} <${o.email}>`),
        h("dt", {}, "Placed"), h("dd", {}, when(o.created_at)),
        status.holdsStock ? [h("dt", {}, "Reserved until"), h("dd", {}, when(o.expires_at))] : null,
        h("dt", {}, "Total"), h("dd", { id: "order-total" }, money(o.total_amount)),
        o.payment_status ? [h("dt", {}, "Payment"), h("dd", { id: "order-payment-status" }, badge(o.payment_status))] : null,
        o.fulfilment_status ? [h("dt", {}, "Fulfilment"), h("dd", { id: "order-fulfilment-status" }, badge(o.fulfilment_status))] : null),
      h("div", { class: "actions" }, actions.filter((a) => forms[a]).map((a) =>
        h("button", { type: "button", id: `${a}-order`, onclick: () => open(a) }, labels[a]))),
      slot,
      h("h2", {}, "Items"),
      h("table", { id: "order-items" },
        h("thead", {}, h("tr", {}, h("th", {}, "Product"), h("th", { class: "num" }, "Price"), h("th", { class: "num" }, "Qty"),
          h("th", { class: "num" }, "Line total"))),
        h("tbody", {}, o.items.map((i) => h("tr", {}, h("td", {}, i.product), h("td", { class: "num" }, money(i.price)),
          h("td", { class: "num" }, i.quantity), h("td", { class: "num" }, money(i.totalprice)))))),
      h("h2", { class: "section" }, "Shipments"), shipmentsTable(o, o.status === "paid"),
      h("h2", { class: "section" }, "Refunds"), refundsTable(o),
      h("h2", { class: "section" }, "Returns"), returnsTable(o),
      h("h2", { class: "section" }, "Payment attempts"), paymentsTable(o),
    );
  }

  // Emails ------------------------------------------------------------------------------------------

  const emailState = { status: "", page: 1 };
  const EMAIL_STATUSES = ["pending", "sending", "sent", "failed"];

  async function emails(selected, show) {
    const resend = async (e) => {
      try {
        const row = await api("POST", `admin/emails/${e.id}/resend/`);
        flash(`Email #${e.id} queued again (${row.status}).`);
        route();
      } catch (err) {
        fail(err);
      }
    };
    const list = await pagedList({
      id: "emails-table",
      state: emailState,
      fetchPage: (paging) => api("GET", `admin/emails/${query({ status: emailState.status, ...paging })}`),
      columns: ["ID", "Order", "Recipient", "Status", { label: "Attempts", num: true }, "Last error", "Created", ""],
      row: (e) =>
        h("tr", { class: String(e.id) === selected ? "selected" : null, dataset: { id: e.id, order: e.order_id } },
          h("td", {}, e.id), h("td", {}, e.order_id ? h("a", { href: `#/orders/${e.order_id}` }, `#${e.order_id}`) : "—"),
          h("td", {}, e.recipient), h("td", {}, badge(e.status)), h("td", { class: "num" }, e.attempts),
          h("td", { class: "clip error", title: e.last_error || "" }, e.last_error || ""),
          h("td", { class: "when" }, when(e.created_at)),
          h("td", { class: "actions" },
            h("button", { type: "button", onclick: () => { location.hash = `#/emails/${e.id}`; } }, "Preview"),
            h("button", { type: "button", class: "resend", disabled: e.status === "sending", onclick: () => resend(e) }, "Resend"))),
      empty: "No emails.",
    });
    const preview = selected ? await api("GET", `admin/emails/${selected}/preview/`).catch((e) => e) : null;
    const status = h("select", { name: "status", "aria-label": "Email status", onchange: () => {
      Object.assign(emailState, { status: status.value, page: 1 });
      route();
    } }, h("option", { value: "" }, "All statuses"),
    EMAIL_STATUSES.map((s) => h("option", { value: s, selected: s === emailState.status }, s)));
    show(
      h("h1", {}, "Email queue"),
      h(
        "div",
        // The queue's table is wide: the preview goes below it rather than beside it.
        { class: "split stacked" },
        h(
          "div",
          { class: "card" },
          h("div", { class: "toolbar" }, status, h("span", { class: "grow" }),
            h("button", { type: "button", onclick: () => route() }, "Refresh")),
          list,
        ),
        preview ? emailPreview(preview) : null,
      ),
    );
  }

  function emailPreview(p) {
    if (p instanceof Error) return h("div", { class: "card" }, h("p", { class: "error" }, p.message));
    // The HTML body goes into a sandboxed frame: no scripts, no forms, no access to this page.
    const frame = h("iframe", { class: "preview", sandbox: "", title: "HTML body", referrerpolicy: "no-referrer" });
    frame.srcdoc = p.html;
    return h("div", { class: "card", id: "email-preview" },
      h("div", { class: "panel-head" }, h("h2", {}, `Email #${p.id}`),
        h("button", { type: "button", onclick: () => { location.hash = "#/emails"; } }, "Close")),
      h("dl", { class: "facts" }, h("dt", {}, "To"), h("dd", {}, p.recipient), h("dt", {}, "Subject"), h("dd", { id: "preview-subject" }, p.subject)),
      frame,
      h("h2", { style: "margin-top:12px" }, "Plain text"),
      h("pre", { class: "preview" }, p.text));
  }

  // Users -------------------------------------------------------------------------------------------

  const userState = { search: "", page: 1 };

  async function users(_id, show) {
    // The link goes to the customer only: staff never see it (the outbox keeps it sealed).
    const sendReset = async (u) => {
      if (!confirm(`Email ${u.email} a link to choose a new password?`)) return;
      try {
        await api("POST", `admin/users/${u.id}/password-reset/`);
        flash(`A password reset link is on its way to ${u.email}.`);
      } catch (e) {
        fail(e);
      }
    };
    const change = async (u, body, done) => {
      try {
        await api("PATCH", `admin/users/${u.id}/`, body);
        flash(done);
        route();
      } catch (e) {
        fail(e);
      }
    };
    const list = await pagedList({
      id: "users-table",
      state: userState,
      fetchPage: (paging) => api("GET", `admin/users/${query({ search: userState.search, ...paging })}`),
      columns: ["ID", "Username", "Email", "Role", "Status", "Low-stock emails", "Joined", ""],
      row: (u) => userRow(u, change, sendReset),
      empty: "No users match.",
    });
    const search = h("input", { type: "search", name: "search", placeholder: "Username or email", "aria-label": "Search users by username or email", value: userState.search });
    show(
      h("h1", {}, "Users"),
      h("div", { class: "card" },
        h("form", { class: "toolbar", id: "user-search", onsubmit: (e) => {
          e.preventDefault();
          Object.assign(userState, { search: search.value.trim(), page: 1 });
          route();
        } }, search, h("button", { type: "submit" }, "Search")),
        list),
    );
  }

  function userRow(u, change, sendReset) {
    const self = session.user && u.id === session.user.id;
    // Whether the address was confirmed by a link sent to it (issue #20).
    const verified = u.email_verified
      ? h("span", { class: "badge verified", title: "Address confirmed" }, "verified")
      : h("span", { class: "badge unverified", title: "Address not confirmed yet" }, "unverified");
    return h("tr", { dataset: { id: u.id, username: u.username } },
      h("td", {}, u.id), h("td", {}, u.username, self ? h("span", { class: "muted" }, " (you)") : null),
      h("td", {}, u.email, " ", verified),
      h("td", {}, badge(u.role)), h("td", {}, u.is_active ? badge("active") : badge("inactive")),
      h("td", { class: "alerts" }, lowStockOptIn(u, change)),
      h("td", { class: "when" }, when(u.date_joined)),
      h("td", { class: "actions" },
        u.role === "staff"
          ? h("button", { type: "button", disabled: self, onclick: () => change(u, { role: "customer" }, `${u.username} is now a customer.`) }, "Demote")
          : h("button", { type: "button", onclick: () => change(u, { role: "staff" }, `${u.username} is now staff.`) }, "Make staff"),
        u.is_active
          ? h("button", { type: "button", class: "danger", disabled: self, onclick: () => {
              if (confirm(`Deactivate ${u.username}? They can no longer sign in.`)) {
                change(u, { is_active: false }, `${u.username} is deactivated.`);
              }
            } }, "Deactivate")
          : h("button", { type: "button", onclick: () => change(u, { is_active: true }, `${u.username} is active again.`) }, "Reactivate"),
        h("button", { type: "button", class: "send-reset", disabled: !u.is_active, onclick: () => sendReset(u) }, "Send reset link")));
  }

  // Staff choose whether they get an email when a product's stock falls below the shop's threshold
  // (issue #22); customers get none, and the API shows the field only on staff rows.
  function lowStockOptIn(u, change) {
    if (u.role !== "staff" || u.low_stock_alerts === undefined) return h("span", { class: "muted" }, "—");
    return h("label", { class: "opt-in" },
      h("input", { type: "checkbox", name: "low_stock_alerts", checked: u.low_stock_alerts,
        "aria-label": `Low-stock emails for ${u.username}`,
        onchange: (e) => change(u, { low_stock_alerts: e.target.checked },
          e.target.checked ? `${u.username} will get low-stock emails.` : `${u.username} will get no low-stock emails.`) }),
      u.low_stock_alerts ? " on" : " off");
  }

  // Webhooks ----------------------------------------------------------------------------------------
  // Endpoints the shop's other systems listen on (docs/webhooks.md): create one (its secret is shown
  // once), enable or disable, send a test, rotate the secret, delete; an endpoint's deliveries, with
  // the receiver's answers, and redelivery.

  const WEBHOOK_EVENTS = ["order.placed", "order.paid", "order.cancelled", "order.expired", "order.fulfilled",
    "order.delivered", "order.refunded", "order.returned", "payment.failed", "product.low_stock"];
  const DELIVERY_STATUSES = ["pending", "sending", "succeeded", "failed"];
  const webhookState = { page: 1, secret: null };
  const deliveryState = { status: "", page: 1, endpoint: null };

  async function webhooks(selected, show, sub) {
    const highlighted = selected;
    const endpoint = selected && sub === "edit" ? await toEdit(`admin/webhooks/${selected}/`) : null;
    if (endpoint) selected = null; // the edit form in place of the deliveries
    if (deliveryState.endpoint !== selected) Object.assign(deliveryState, { status: "", page: 1, endpoint: selected });
    const list = await pagedList({
      id: "webhooks-table",
      state: webhookState,
      fetchPage: (paging) => api("GET", `admin/webhooks/${query(paging)}`),
      columns: ["ID", "URL", "Events", "State", "Description", ""],
      row: (e) => webhookRow(e, highlighted),
      empty: "No webhook endpoints yet.",
    });
    const secret = webhookState.secret;
    webhookState.secret = null; // shown once
    show(
      h("h1", {}, "Webhooks"),
      secret ? h("div", { class: "card", id: "webhook-secret" }, h("h2", {}, `Signing secret of endpoint #${secret.id}`),
        h("p", {}, "Copy it now into the receiving system: it is not shown again."), h("pre", {}, secret.secret)) : null,
      h("div", { class: "split stacked" },
        h("div", { class: "card" }, list),
        selected ? await deliveriesCard(selected) : endpoint && endpoint.missing ? endpointMissing() : webhookForm(endpoint)),
    );
  }

  function endpointMissing() {
    return h("div", { class: "card", id: "endpoint-missing" }, h("h2", {}, "No such endpoint"),
      h("p", {}, "It was deleted, or the link is wrong."),
      h("button", { type: "button", onclick: () => { location.hash = "#/webhooks"; } }, "New endpoint"));
  }

  function webhookRow(e, selected) {
    const state = e.enabled ? badge("enabled", "active") : badge(e.disabled_at ? "disabled: failing" : "disabled", "failed");
    const failing = e.failing_since ? h("div", { class: "muted" }, `failing since ${when(e.failing_since)}`) : null;
    return h("tr", { class: String(e.id) === selected ? "selected" : null, dataset: { id: e.id } },
      h("td", {}, e.id), h("td", { class: "clip", title: e.url }, e.url), h("td", {}, e.events.join(", ")),
      h("td", {}, state, failing), h("td", {}, e.description),
      h("td", { class: "actions" },
        h("button", { type: "button", onclick: () => { location.hash = `#/webhooks/${e.id}`; } }, "Deliveries"),
        h("button", { type: "button", class: "edit", onclick: () => { location.hash = `#/webhooks/${e.id}/edit`; } }, "Edit"),
        h("button", { type: "button", class: "send-test", onclick: () => act(`Send a test event to ${e.url}?`, "POST",
          `admin/webhooks/${e.id}/test/`, undefined, "Test event queued.") }, "Test"),
        h("button", { type: "button", class: "toggle", onclick: () => act(`${e.enabled ? "Disable" : "Enable"} ${e.url}?`,
          "PATCH", `admin/webhooks/${e.id}/`, { enabled: !e.enabled }, e.enabled ? "Disabled." : "Enabled.") },
          e.enabled ? "Disable" : "Enable"),
        h("button", { type: "button", class: "rotate", onclick: () => rotateSecret(e) }, "Rotate secret"),
        h("button", { type: "button", class: "danger", onclick: () => act(`Delete the endpoint ${e.url} and its deliveries?`,
          "DELETE", `admin/webhooks/${e.id}/`, undefined, "Deleted.") }, "Delete")));
  }

  async function rotateSecret(e) {
    if (!confirm(`Give ${e.url} a new secret? The old one keeps signing beside it for 24 hours.`)) return;
    try {
      webhookState.secret = await api("POST", `admin/webhooks/${e.id}/rotate_secret/`);
      route();
    } catch (err) {
      fail(err);
    }
  }

  // A new endpoint, or (given one) an edit that sends only the fields staff changed.
  function webhookForm(endpoint) {
    const field = (name, label, input) =>
      h("div", { class: "wide" }, h("label", {}, label, input), h("div", { class: "field-error", dataset: { for: name } }));
    const subscribed = new Set(endpoint ? endpoint.events : []);
    const boxes = WEBHOOK_EVENTS.map((name) => h("label", { class: "check" },
      h("input", { type: "checkbox", name: "events", value: name, checked: subscribed.has(name) }), ` ${name}`));
    const form = h("form", { id: "webhook-form", novalidate: true },
      h("div", { class: "form-grid" },
        field("url", "URL", h("input", { name: "url", placeholder: "https://erp.example.com/hooks", maxlength: 2048,
          value: endpoint ? endpoint.url : "" })),
        field("description", "Description", h("input", { name: "description", maxlength: 500,
          value: endpoint ? endpoint.description : "" })),
        h("div", { class: "wide" }, h("span", {}, "Events"), h("div", { class: "checks" }, boxes),
          h("div", { class: "field-error", dataset: { for: "events" } }))),
      h("div", { class: "field-error", dataset: { for: "non_field_errors" } }),
      h("button", { type: "submit", class: "primary" }, endpoint ? "Save changes" : "Add endpoint"),
      endpoint ? h("button", { type: "button", style: "margin-left:8px", onclick: () => { location.hash = "#/webhooks"; } }, "Cancel") : null);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      // Types this console has no box for (a newer server's) stay subscribed: an edit here keeps them.
      const unknown = endpoint ? endpoint.events.filter((n) => !WEBHOOK_EVENTS.includes(n)) : [];
      const body = { url: form.url.value.trim(), description: form.description.value,
        events: [...form.querySelectorAll("input[name=events]:checked")].map((b) => b.value).concat(unknown) };
      if (endpoint) {
        if (body.url === endpoint.url) delete body.url;
        if (body.description === endpoint.description) delete body.description;
        if (body.events.join() === WEBHOOK_EVENTS.filter((n) => subscribed.has(n)).concat(unknown).join()) delete body.events;
        if (!Object.keys(body).length) {
          flash("Nothing to save: no field was changed.");
          return;
        }
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;  // until answered: a double click made two endpoints, and hid the first secret
      try {
        if (endpoint) {
          await api("PATCH", `admin/webhooks/${endpoint.id}/`, body);
          flash(`Endpoint #${endpoint.id} saved.`);
          location.hash = "#/webhooks";
          return;
        }
        webhookState.secret = await api("POST", "admin/webhooks/", body);
        flash(`Endpoint #${webhookState.secret.id} added.`);
        route();
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return;
        showFieldErrors(form, e);
      } finally {
        button.disabled = false;
      }
    });
    return h("div", { class: "card" }, h("h2", {}, endpoint ? `Edit endpoint #${endpoint.id}` : "New endpoint"), form);
  }

  async function deliveriesCard(id) {
    const list = await pagedList({
      id: "deliveries-table",
      state: deliveryState,
      fetchPage: (paging) => api("GET", `admin/webhooks/${id}/deliveries/${query({ status: deliveryState.status, ...paging })}`),
      columns: ["ID", "Event", "Status", { label: "Attempts", num: true }, "Answer", { label: "ms", num: true }, "Next try", ""],
      row: (d) => h("tr", { dataset: { id: d.id } },
        h("td", {}, d.id), h("td", {}, d.event), h("td", {}, badge(d.status)), h("td", { class: "num" }, d.attempts),
        h("td", { class: "clip error", title: d.error || d.response || "" },
          d.status_code ? `${d.status_code} ${d.response || ""}` : d.error || ""),
        h("td", { class: "num" }, d.latency_ms ?? ""), h("td", { class: "when" }, d.next_attempt_at ? when(d.next_attempt_at) : ""),
        h("td", { class: "actions" }, h("button", { type: "button", class: "redeliver", disabled: d.status === "sending",
          onclick: () => act(`Send delivery #${d.id} again?`, "POST", `admin/webhooks/deliveries/${d.id}/redeliver/`,
            undefined, `Delivery #${d.id} queued again.`) }, "Redeliver"))),
      empty: "No deliveries yet.",
    });
    const status = h("select", { name: "status", "aria-label": "Delivery status", onchange: () => {
      Object.assign(deliveryState, { status: status.value, page: 1 });
      route();
    } }, h("option", { value: "" }, "All statuses"),
    DELIVERY_STATUSES.map((s) => h("option", { value: s, selected: s === deliveryState.status }, s)));
    return h("div", { class: "card", id: "deliveries" },
      h("div", { class: "panel-head" }, h("h2", {}, `Deliveries of endpoint #${id}`),
        h("button", { type: "button", onclick: () => { location.hash = "#/webhooks"; } }, "Close")),
      h("div", { class: "toolbar" }, status, h("span", { class: "grow" }), h("button", { type: "button", onclick: () => route() }, "Refresh")),
      list);
  }

  // --- start ----------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("#signin-form").addEventListener("submit", signIn);
    $("#sign-out").addEventListener("click", () => signOut(true));
    window.addEventListener("hashchange", route);
    showSignIn();
  });
})();
