// What the phone keeps for itself in IndexedDB: the outbox of unsent writes (photos as Blobs),
// the visits made on this phone, and copies of the last lists it was shown (for use offline).
// Where IndexedDB is missing (some private modes) the same calls work on memory, for this page only.

const DB_NAME = "carepact";
const DB_VERSION = 1;
export const OUTBOX = "outbox"; // {seq (auto), account_id, kind, visit_id, ...}: sent strictly by seq
export const VISITS = "visits"; // {id, account_id, household, checkin, checkout, ...}: the phone's own visits
export const CACHE = "cache"; // {key, value, saved_at}: today's households, vocabulary, the last account

const KEYS = { [OUTBOX]: { keyPath: "seq", autoIncrement: true }, [VISITS]: { keyPath: "id" }, [CACHE]: { keyPath: "key" } };

let opening = null;

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function open() {
  if (!opening) {
    opening = new Promise((resolve) => {
      if (!("indexedDB" in window)) {
        resolve(null);
        return;
      }
      let request;
      try {
        request = indexedDB.open(DB_NAME, DB_VERSION);
      } catch {
        resolve(null);
        return;
      }
      request.onupgradeneeded = () => {
        for (const [name, options] of Object.entries(KEYS)) {
          if (!request.result.objectStoreNames.contains(name)) request.result.createObjectStore(name, options);
        }
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => resolve(null); // refused (private mode): fall back to memory
      request.onblocked = () => resolve(null);
    });
  }
  return opening;
}

// --- the memory fallback: same behaviour, lost with the page ------------------------------

const memory = { [OUTBOX]: new Map(), [VISITS]: new Map(), [CACHE]: new Map() };
let memorySeq = 0;

function memoryPut(store, value) {
  const copy = { ...value };
  if (store === OUTBOX && copy.seq === undefined) copy.seq = ++memorySeq;
  memory[store].set(copy[KEYS[store].keyPath], copy);
  return copy[KEYS[store].keyPath];
}

// --- the calls ------------------------------------------------------------------------------

/** Every record of a store, in key order. */
export async function all(store) {
  const db = await open();
  if (!db) return [...memory[store].values()].sort((a, b) => (a[KEYS[store].keyPath] < b[KEYS[store].keyPath] ? -1 : 1));
  return promised(db.transaction(store).objectStore(store).getAll());
}

export async function get(store, key) {
  const db = await open();
  if (!db) return memory[store].get(key);
  return promised(db.transaction(store).objectStore(store).get(key));
}

/** Insert or replace; returns the key (the new seq for an outbox item). */
export async function put(store, value) {
  const db = await open();
  if (!db) return memoryPut(store, value);
  return promised(db.transaction(store, "readwrite").objectStore(store).put(value));
}

export async function remove(store, key) {
  const db = await open();
  if (!db) {
    memory[store].delete(key);
    return;
  }
  await promised(db.transaction(store, "readwrite").objectStore(store).delete(key));
}

/**
 * Several records into several stores in one transaction: all are kept or none (a visit and
 * the outbox items that send it must never be half-saved). `writes`: [[store, value], ...].
 */
export async function putAll(writes) {
  const db = await open();
  if (!db) {
    for (const [store, value] of writes) memoryPut(store, value);
    return;
  }
  const stores = [...new Set(writes.map(([store]) => store))];
  const transaction = db.transaction(stores, "readwrite");
  for (const [store, value] of writes) transaction.objectStore(store).put(value);
  await new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error || new Error("aborted"));
  });
}

/** A cached value (or undefined) with the moment it was saved. */
export async function cached(key) {
  const row = await get(CACHE, key);
  return row ? { value: row.value, savedAt: new Date(row.saved_at) } : undefined;
}

export async function remember(key, value) {
  await put(CACHE, { key, value, saved_at: new Date().toISOString() });
}

export async function forget(key) {
  await remove(CACHE, key);
}

/** An id made on the phone, so a replayed upload is recognised by the server as the same one. */
export function newId() {
  if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // Older WebViews (no randomUUID, or not a secure context): a version-4 UUID from random bytes.
  const bytes = new Uint8Array(16);
  if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < 16; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
