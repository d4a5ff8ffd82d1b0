// End-to-end test of /graphql with unmodified npm clients, against two
// replicas of the server that share a database:
//
//   REPLICA_A_URL=http://localhost:8080 REPLICA_B_URL=http://localhost:8081 \
//   EMAIL=ada@example.com node e2e.mjs
//
// It signs in through REST on replica A (the one-time code is read from
// stdin: type the one the server logged, "Your sign-in code is 123456."),
// then, on A, runs a query and a mutation over HTTP (fetch), checks the
// error codes of a query without a token, of an unknown order and of an
// invalid input, subscribes to orderCreated over graphql-ws, places an
// order through REST on replica B and waits for that order on the
// subscription; finally it signs out through B and checks that the
// subscription ends with 4401 (Unauthorized), and that a connection
// without a token is refused with 4401 too.
//
// One server does too: without REPLICA_B_URL, B is A. It prints each step;
// on any failure it prints why on stderr and exits 1.
import { createInterface } from "node:readline/promises";

import { createClient } from "graphql-ws";
import WebSocket from "ws";

// Bounds: every request, the wait for an event, the whole run.
const requestTimeoutMs = 10_000;
const eventTimeoutMs = 15_000;
const runTimeoutMs = 60_000;

// graphql-transport-ws close code for a refused or ended authentication.
const closeUnauthorized = 4401;

class Failure extends Error {}

function check(cond, message) {
  if (!cond) {
    throw new Failure(message);
  }
}

function step(message) {
  console.log(`ok: ${message}`);
}

// rest calls the REST API of base and returns the decoded JSON body; any
// status but 200 fails.
async function rest(base, method, path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) {
    headers.Authorization = `Bearer ${token}`;
  }

  const resp = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  const text = await resp.text();
  check(resp.status === 200, `${method} ${path} on ${base}: ${resp.status} ${text}`);

  return JSON.parse(text);
}

// graphql posts an operation to base's /graphql, as any GraphQL HTTP client
// does, and returns the result ({data, errors}).
async function graphql(base, query, variables, token) {
  const headers = { "Content-Type": "application/json", Accept: "application/graphql-response+json, application/json" };
  if (token) {
    headers.Authorization = `Bearer ${token}`;
  }

  const resp = await fetch(`${base}/graphql`, {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  const text = await resp.text();
  check(resp.headers.get("content-type")?.includes("json"), `POST /graphql: ${resp.status} ${text}, want JSON`);

  return { status: resp.status, ...JSON.parse(text) };
}

// wantData returns a result's data, failing on any error.
function wantData(name, result) {
  check(!result.errors, `${name}: errors ${JSON.stringify(result.errors)}`);
  check(result.data, `${name}: no data in ${JSON.stringify(result)}`);

  return result.data;
}

// wantError returns the first error of a result, failing unless its
// extensions.code is code.
function wantError(name, result, code) {
  const err = result.errors?.[0];
  check(err?.extensions?.code === code, `${name}: ${JSON.stringify(result)}, want an error with extensions.code ${code}`);

  return err;
}

// readCode reads the sign-in code from stdin.
async function readCode(email) {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  try {
    const line = await rl.question(process.stdin.isTTY ? `sign-in code sent to ${email}: ` : "");
    check(/^[0-9]{6}$/.test(line.trim()), `no sign-in code on stdin (read ${JSON.stringify(line)})`);

    return line.trim();
  } finally {
    rl.close();
  }
}

async function signIn(base, email) {
  await rest(base, "POST", "/v1/auth/login/request", { email });
  const code = await readCode(email);
  const done = await rest(base, "POST", "/v1/auth/login/complete", { email, code });
  check(done.tokens?.access_token, `sign-in: no access token in ${JSON.stringify(done)}`);

  return done.tokens.access_token;
}

// subscriber is a graphql-ws client of base's /graphql (ws://…) that
// authenticates with token, if any, in connection_init. It retries quickly
// when the server closes the connection, so that an ended session shows
// as the refusal of the next connection_init (4401).
function subscriber(base, token) {
  return createClient({
    url: `${base.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { Authorization: `Bearer ${token}` } : undefined,
    retryAttempts: 3,
    retryWait: () => new Promise((resolve) => setTimeout(resolve, 100)),
  });
}

// withTimeout resolves as promise does, or fails after ms.
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failure(`${what}: nothing within ${ms} ms`)), ms);
  });

  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// closeCode returns the close code a subscription ended with (graphql-ws
// throws the CloseEvent), or fails if it yields a result first, but for
// the orderCreated events of the orders in known.
async function closeCode(events, what, known = new Set()) {
  for (;;) {
    let next;
    try {
      next = await withTimeout(events.next(), eventTimeoutMs, what);
    } catch (err) {
      if (err instanceof Failure) {
        throw err;
      }
      check(typeof err?.code === "number", `${what}: ${err}, want a close event`);

      return err.code;
    }

    check(!next.done && known.has(next.value.data?.orderCreated?.orderId),
      `${what}: ${JSON.stringify(next)}, want the connection closed`);
  }
}

const orderCreated = "subscription { orderCreated { orderId totalMinor currency itemCount } }";

// placeAndReceive places orders through REST on b until the subscription
// (which may not be registered on the server yet when the first order is
// placed: graphql-transport-ws does not acknowledge subscriptions) receives
// one, and checks that the order received is one of those placed, with
// its total, currency and line count. Events of the orders in earlier,
// placed before the subscription, may still arrive: events are delivered
// after the order's transaction commits, through the outbox.
async function placeAndReceive(events, b, token, earlier) {
  const placed = new Map();
  let next = events.next();

  for (let attempt = 1; ;) {
    if (placed.size < attempt) {
      const resp = await rest(b, "POST", "/v1/orders", {
        currency: "EUR",
        items: [{ sku: "book-1", quantity: 2, unit_price_minor: 1250 }, { sku: "pen", quantity: 1, unit_price_minor: 199 }],
      }, token);
      placed.set(resp.order.id, resp.order);
    }

    const got = await Promise.race([next, new Promise((resolve) => setTimeout(resolve, eventTimeoutMs / 5, null))]);
    if (got === null) {
      check(attempt < 5, `orderCreated: no event within ${eventTimeoutMs} ms for orders ${[...placed.keys()]} placed on B`);
      attempt++;
      continue;
    }

    check(!got.done, "orderCreated: the subscription ended before any event");

    const event = wantData("orderCreated", got.value).orderCreated;
    if (earlier.has(event.orderId)) {
      next = events.next();
      continue;
    }

    check(placed.has(event.orderId), `orderCreated: ${JSON.stringify(event)}, want one of the orders placed on B: ${[...placed.keys()]}`);
    check(event.totalMinor === 2699 && event.currency === "EUR" && event.itemCount === 2,
      `orderCreated: ${JSON.stringify(event)}, want totalMinor 2699, currency EUR, itemCount 2`);

    return { id: event.orderId, attempts: attempt, known: new Set([...earlier, ...placed.keys()]) };
  }
}

async function main({ REPLICA_A_URL: a, REPLICA_B_URL: replicaB, EMAIL: email }) {
  check(a && email, "usage: REPLICA_A_URL=http://… [REPLICA_B_URL=http://…] EMAIL=… node e2e.mjs");
  const b = replicaB || a;

  const token = await signIn(a, email);
  step(`signed in as ${email} through REST on A`);

  const me = wantData("query me", await graphql(a, "query { me { id email } }", undefined, token)).me;
  check(me.email === email && me.id.startsWith("user_"), `query me: ${JSON.stringify(me)}, want ${email}`);
  step(`query { me } over HTTP: ${me.id}`);

  const created = wantData("mutation createOrder", await graphql(a,
    "mutation Place($input: CreateOrderInput!) { createOrder(input: $input) { id userId status totalMinor } }",
    { input: { currency: "EUR", items: [{ sku: "lamp", quantity: 1, unitPriceMinor: 4900 }] } }, token)).createOrder;
  check(created.id.startsWith("order_") && created.userId === me.id && created.status === "PLACED" && created.totalMinor === 4900,
    `mutation createOrder: ${JSON.stringify(created)}, want a PLACED order of ${me.id} for 4900`);
  step(`mutation createOrder over HTTP: ${created.id}`);

  wantError("query me without a token", await graphql(a, "query { me { id } }"), "AUTH_REQUIRED");
  step("query without a token: AUTH_REQUIRED");

  wantError("query an unknown order", await graphql(a, "query { order(id: \"order_00000000000000000000000000\") { id } }", undefined, token), "NOT_FOUND");
  step("unknown order: NOT_FOUND");

  const invalid = wantError("mutation createOrder with currency eur", await graphql(a,
    "mutation { createOrder(input: {currency: \"eur\", items: [{sku: \"lamp\", quantity: 1, unitPriceMinor: 1}]}) { id } }",
    undefined, token), "VALIDATION_FAILED");
  check(JSON.stringify(invalid.extensions.details?.fields ?? null).includes("currency"),
    `invalid currency: ${JSON.stringify(invalid)}, want details.fields naming currency`);
  step("invalid currency: VALIDATION_FAILED naming currency");

  const client = subscriber(a, token);
  try {
    const events = client.iterate({ query: orderCreated });
    const got = await placeAndReceive(events, b, token, new Set([created.id]));
    step(`subscription on A received order ${got.id}, placed through REST on B (attempt ${got.attempts})`);

    await rest(b, "POST", "/v1/auth/logout", {}, token);
    const code = await closeCode(events, "subscription after sign-out", got.known);
    check(code === closeUnauthorized, `subscription after sign-out ended with ${code}, want ${closeUnauthorized}`);
    step(`sign-out through B ended the subscription on A: ${code}`);
  } finally {
    await client.dispose();
  }

  const anonymous = subscriber(a);
  try {
    const code = await closeCode(anonymous.iterate({ query: orderCreated }), "subscription without a token");
    check(code === closeUnauthorized, `subscription without a token closed with ${code}, want ${closeUnauthorized}`);
    step(`subscription without a token: refused with ${code}`);
  } finally {
    await anonymous.dispose();
  }
}

try {
  await withTimeout(main(process.env), runTimeoutMs, "e2e run");
  console.log("PASS");
  process.exit(0);
} catch (err) {
  console.error(`FAIL: ${err instanceof Failure ? err.message : err?.stack ?? err}`);
  process.exit(1);
}
