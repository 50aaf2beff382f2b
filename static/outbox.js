// The one way a field worker's writes reach the server: photo uploads, check-ins and check-outs
// are first kept on the phone (IndexedDB), then sent strictly in the order they were made, now
// if there is signal, later if not. Nothing is dropped without the worker deciding so.
//
// An item is done on 2xx (the server answers a replay of the same content with 200, so a resend
// after a lost answer is harmless). No answer or 5xx: try again later, waiting longer each time.
// Any other refusal: the item stays, marked failed with the server's own words, and holds back the
// later items of the same visit (they depend on it) until the worker retries or discards it.

import { ApiError, api, setCsrfToken } from "./api.js";
import { OUTBOX, VISITS, all, get, put, putAll, remove } from "./store.js";

const RETRY_SECONDS = [3, 10, 30, 60, 120, 300];
const PERIODIC_SECONDS = 60;
const JSON_TIMEOUT = 30_000;
const PHOTO_TIMEOUT = 120_000;

export const KIND_LABELS = { photo: "照片", checkin: "签到", checkout: "签退" };

let account = null;
let running = false;
let again = false;
let sending = false;
let attempt = 0;
let timer = 0;
let status = { online: navigator.onLine, waiting: 0, failed: 0, sending: false };
const listeners = new Set();

/** Whose items are sent: only the signed-in worker's own (a shared phone keeps the others'). */
export function setOutboxAccount(who) {
  account = who;
  attempt = 0;
  flush();
}

/** listener(status) now and on every change: {online, waiting, failed, sending}. */
export function watchOutbox(listener) {
  listeners.add(listener);
  listener(status);
  return () => listeners.delete(listener);
}

async function mine() {
  if (!account) return [];
  return (await all(OUTBOX)).filter((item) => item.account_id === account.account_id).sort((a, b) => a.seq - b.seq);
}

/** The signed-in worker's items, in sending order, each with `held` when an earlier one failed. */
export async function outboxItems() {
  const items = await mine();
  const failedVisits = new Set();
  return items.map((item) => {
    const held = item.state === "waiting" && failedVisits.has(item.visit_id);
    if (item.state === "failed") failedVisits.add(item.visit_id);
    return { ...item, held };
  });
}

async function notify() {
  const items = await mine();
  status = {
    online: navigator.onLine,
    waiting: items.length,
    failed: items.filter((item) => item.state === "failed").length,
    sending,
  };
  for (const listener of listeners) listener(status);
}

/**
 * Keep a visit's record and the items that send it, in one transaction.
 * `items`: [{kind, visit_id, household_id, ...}] in the order they must reach the server.
 */
export async function enqueue(visit, items) {
  const now = new Date().toISOString();
  await putAll([
    [VISITS, visit],
    ...items.map((item) => [OUTBOX, { ...item, account_id: visit.account_id, created_at: now, state: "waiting", error: null }]),
  ]);
  attempt = 0;
  await notify();
  flush();
}

function photoForm(item) {
  const form = new FormData();
  form.append("data", item.blob, item.filename || "photo.jpg");
  form.append("household_id", String(item.household_id));
  return form;
}

// sent_at is the phone's clock at this very send: the server measures the clock's error from it.
function transmit(item) {
  const sentAt = new Date().toISOString();
  switch (item.kind) {
    case "photo":
      return api.put(`/api/photos/${item.photo_id}`, { form: photoForm(item), timeout: PHOTO_TIMEOUT });
    case "checkin":
      return api.post("/api/visits/checkin", { json: { ...item.body, sent_at: sentAt }, timeout: JSON_TIMEOUT });
    case "checkout":
      return api.post(`/api/visits/${item.visit_id}/checkout`, {
        json: { ...item.body, sent_at: sentAt },
        timeout: JSON_TIMEOUT,
      });
    default:
      return Promise.reject(new ApiError(400, { code: "outbox.unknown", message: "无法识别的待上传记录。" }));
  }
}

async function recordSent(item) {
  const visit = await get(VISITS, item.visit_id);
  if (!visit) return;
  if (item.kind === "checkin") visit.checkin_sent = true;
  if (item.kind === "checkout") visit.checkout_sent = true;
  await put(VISITS, visit);
}

/** What to do with an item after one try: "done", "retry", "pause" or "failed". */
async function tryOnce(item) {
  try {
    await transmit(item);
    return "done";
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 0 || error.status >= 500 || error.status === 408 || error.status === 429) return "retry";
    if (error.status === 401) return "pause"; // signed out: the items wait for the same worker's next login
    if (error.code === "auth.csrf_failed") {
      try {
        setCsrfToken((await api.get("/api/auth/me")).csrf_token);
        return "retry";
      } catch {
        return "pause";
      }
    }
    item.state = "failed";
    item.error = { status: error.status, code: error.code, message: error.message };
    await put(OUTBOX, item);
    return "failed";
  }
}

function later() {
  clearTimeout(timer);
  const seconds = RETRY_SECONDS[Math.min(attempt, RETRY_SECONDS.length - 1)];
  attempt += 1;
  timer = setTimeout(flush, seconds * 1000);
}

/** Send what can be sent now, oldest first; returns when the queue is empty or must wait. */
export async function flush() {
  if (running) {
    again = true;
    return;
  }
  running = true;
  clearTimeout(timer);
  try {
    for (;;) {
      if (!account || !navigator.onLine) break;
      const next = (await outboxItems()).find((item) => item.state === "waiting" && !item.held);
      if (!next) {
        attempt = 0;
        break;
      }
      sending = true;
      await notify();
      const outcome = await tryOnce(next);
      if (outcome === "done") {
        await remove(OUTBOX, next.seq);
        await recordSent(next);
        attempt = 0;
      } else if (outcome === "retry") {
        later();
        break;
      } else if (outcome === "pause") {
        break;
      }
    }
  } finally {
    running = false;
    sending = false;
    await notify();
  }
  if (again) {
    again = false;
    flush();
  }
}

/** Try a failed item again (after the worker fixed what the server complained about). */
export async function retryItem(seq) {
  const item = await get(OUTBOX, seq);
  if (!item) return;
  item.state = "waiting";
  item.error = null;
  await put(OUTBOX, item);
  attempt = 0;
  await notify();
  flush();
}

/**
 * Give up on an item, by the worker's explicit choice. A discarded photo is also taken out of
 * the check-in or check-out that names it; a discarded check-in takes its whole visit with it
 * (a check-out cannot reach the server without it).
 */
export async function discardItem(seq) {
  const item = await get(OUTBOX, seq);
  if (!item) return;
  const sameVisit = (await all(OUTBOX)).filter((other) => other.visit_id === item.visit_id && other.seq !== seq);
  if (item.kind === "checkin") {
    for (const other of sameVisit) await remove(OUTBOX, other.seq);
    await remove(VISITS, item.visit_id);
  } else if (item.kind === "photo") {
    for (const other of sameVisit) {
      if (other.body && Array.isArray(other.body.photo_ids) && other.body.photo_ids.includes(item.photo_id)) {
        other.body.photo_ids = other.body.photo_ids.filter((id) => id !== item.photo_id);
        await put(OUTBOX, other);
      }
    }
  }
  await remove(OUTBOX, seq);
  await notify();
  flush();
}

/** How many of a visit's items have not reached the server yet. */
export async function unsentFor(visitId) {
  return (await mine()).filter((item) => item.visit_id === visitId).length;
}

window.addEventListener("online", () => {
  attempt = 0;
  flush();
});
window.addEventListener("offline", () => {
  clearTimeout(timer);
  notify();
});
// A phone that wakes up or comes back to the page may have found signal without an event.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") flush();
});
setInterval(() => {
  if (status.waiting > status.failed && !running) flush();
}, PERIODIC_SECONDS * 1000);
