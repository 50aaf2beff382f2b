// Shared by the care-home pages (residents in centralised care): the facility the staff member
// works in, the record vocabulary, masked names, ids made on the device, and form fields.

import { api } from "./api.js";
import { h } from "./dom.js";

let words = null;

/** Kinds of record, activities, observations, dose outcomes, incident kinds and severities (loaded once). */
export function residentVocabulary() {
  if (!words) {
    words = api.get("/api/residents/vocabulary").catch((error) => {
      words = null;
      throw error;
    });
  }
  return words;
}

/** The facilities the caller may see; `wanted` (an id from the address) picks one, else the first. */
export async function pickFacility(wanted) {
  const facilities = await api.get("/api/facilities");
  const id = Number.parseInt(wanted || "", 10);
  return { facilities, facility: facilities.find((f) => f.id === id) || facilities[0] || null };
}

/** 张*明 / 张*: what a bedside screen shows (the same rule as the server's printed cards). */
export function maskName(name) {
  const text = String(name || "");
  if (text.length <= 1) return text;
  if (text.length === 2) return `${text[0]}*`;
  return text[0] + "*".repeat(text.length - 2) + text[text.length - 1];
}

/** A random UUID made here: a resubmitted entry is stored once by the server. */
export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

let fields = 0;

/** A field: its label (named for the control alone), the control, and a place for the server's field error. */
export function field(label, control) {
  if (!control.id) control.id = `care-field-${++fields}`;
  const error = h("p", { class: "field-error" });
  const element = h("div", { class: "field" }, h("label", { class: "field-label", for: control.id }, label), control, error);
  return { element, error };
}

export function select(name, options, { placeholder } = {}) {
  return h(
    "select",
    { name },
    placeholder !== undefined && h("option", { value: "" }, placeholder),
    options.map(([value, label]) => h("option", { value }, label)),
  );
}

/** "datetime-local" value for now, Beijing time. */
export function shanghaiNowLocal() {
  return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 16);
}

/** A "datetime-local" value read as Beijing time → ISO with +08:00. */
export function fromShanghaiLocal(value) {
  return `${value}:00+08:00`;
}
