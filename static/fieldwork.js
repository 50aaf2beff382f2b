// A field worker's data on the phone: today's households and the visit vocabulary (kept for use
// without signal), and the visits made on this phone, each saved together with the outbox items
// that will send it.

import { api } from "./api.js";
import { enqueue } from "./outbox.js";
import { VISITS, all, cached, forget, get, newId, remember, remove } from "./store.js";

const LIST_TIMEOUT = 15_000;
const KEEP_SENT_VISITS_MS = 2 * 24 * 3600 * 1000;

function todayKey(account) {
  return `today:${account.account_id}`;
}

/** The copy of today's list kept on the phone: {households, savedAt} or undefined. */
export async function cachedToday(account) {
  const copy = await cached(todayKey(account));
  return copy ? { households: copy.value, savedAt: copy.savedAt } : undefined;
}

/** Signing out of a shared phone takes the list of names and addresses with it (unsent visits stay). */
export async function forgetToday(account) {
  await forget(todayKey(account));
}

/** Today's list from the server, kept on the phone for the next time there is no signal. */
export async function fetchToday(account) {
  const households = await api.get("/api/visits/today", { timeout: LIST_TIMEOUT });
  await remember(todayKey(account), households);
  return { households, savedAt: new Date() };
}

/** The list as fresh as can be had: the server's, or the phone's copy when there is no answer. */
export async function today(account) {
  if (navigator.onLine) {
    try {
      return await fetchToday(account);
    } catch (error) {
      if (error.status !== 0 && error.status < 500) throw error;
    }
  }
  return (await cachedToday(account)) || { households: [], savedAt: null };
}

/** Service codes and labels, and the reasons a card could not be scanned (cached). */
export async function vocabulary() {
  const copy = await cached("vocabulary");
  if (copy && !navigator.onLine) return copy.value;
  try {
    const fresh = await api.get("/api/visits/vocabulary", { timeout: LIST_TIMEOUT });
    await remember("vocabulary", fresh);
    return fresh;
  } catch (error) {
    if (copy) return copy.value;
    throw error;
  }
}

/** The visits this worker made on this phone; sent ones are forgotten after two days. */
export async function myVisits(account) {
  const visits = (await all(VISITS)).filter((visit) => visit.account_id === account.account_id);
  const now = Date.now();
  const kept = [];
  for (const visit of visits) {
    const sent = visit.checkin_sent && (visit.status !== "completed" || visit.checkout_sent);
    if (sent && now - new Date(visit.checkin_at).getTime() > KEEP_SENT_VISITS_MS) await remove(VISITS, visit.id);
    else kept.push(visit);
  }
  return kept;
}

export function myVisit(visitId) {
  return get(VISITS, visitId);
}

/** The address, with the village in front unless the address already starts with it. */
export function placeOf(household) {
  const address = household.address || "";
  if (address.startsWith(household.village_name)) return address;
  return [household.village_name, address].filter(Boolean).join(" · ");
}

function startOfShanghaiDay(moment) {
  const shanghai = new Date(moment.getTime() + 8 * 3600 * 1000);
  return Date.UTC(shanghai.getUTCFullYear(), shanghai.getUTCMonth(), shanghai.getUTCDate()) - 8 * 3600 * 1000;
}

/**
 * The server's list with what the phone knows better: a visit made here (maybe not sent yet)
 * marks its household visited today, and an open one can be resumed.
 */
export function withMyVisits(households, visits) {
  const dayStart = startOfShanghaiDay(new Date());
  const merged = households.map((household) => {
    const mine = visits
      .filter((visit) => visit.household_id === household.household_id)
      .sort((a, b) => (a.checkin_at < b.checkin_at ? 1 : -1));
    if (mine.length === 0) return household;
    const latest = mine[0];
    const open = mine.find((visit) => visit.status === "in_progress");
    const finished = new Set(mine.filter((visit) => visit.status === "completed").map((visit) => visit.id));
    const serverLast = household.last_visit_at ? new Date(household.last_visit_at).getTime() : 0;
    const lastAt = Math.max(serverLast, new Date(latest.checkin_at).getTime());
    return {
      ...household,
      last_visit_at: new Date(lastAt).toISOString(),
      visited_today: household.visited_today || lastAt >= dayStart,
      open_visit_id: open ? open.id : finished.has(household.open_visit_id) ? null : household.open_visit_id,
    };
  });
  // The server's order, kept true after visits it has not heard of: least recently visited first.
  const last = (household) => (household.last_visit_at ? new Date(household.last_visit_at).getTime() : 0);
  return merged.sort((a, b) => Number(a.visited_today) - Number(b.visited_today) || last(a) - last(b));
}

function photoItems(visitId, householdId, files, label) {
  return files.map((file) => ({
    kind: "photo",
    visit_id: visitId,
    household_id: householdId,
    photo_id: newId(),
    blob: file,
    filename: file.name || "photo.jpg",
    label,
  }));
}

/**
 * Check in now: the visit is saved on the phone with its photos, queued to send, and returned.
 * `presence`: {card_token} or {manual_reason, manual_reason_label, manual_note}.
 */
export async function checkIn(account, { household, presence, position, photos }) {
  const id = newId();
  const deviceTime = new Date().toISOString();
  const photosOut = photoItems(id, household.household_id, photos, "签到照片");
  const body = { id, household_id: household.household_id, device_time: deviceTime, photo_ids: photosOut.map((p) => p.photo_id) };
  if (presence.card_token) body.card_token = presence.card_token;
  else Object.assign(body, { manual_reason: presence.manual_reason, manual_note: presence.manual_note || "" });
  if (position) body.position = position;
  const visit = {
    id,
    account_id: account.account_id,
    household_id: household.household_id,
    household: { names: household.names, village_name: household.village_name, address: household.address || "", code: household.code || "" },
    presence: presence.card_token ? "qr" : "manual",
    manual_reason_label: presence.manual_reason_label || "",
    checkin_at: deviceTime,
    checkin_photos: photos.length,
    status: "in_progress",
    checkin_sent: false,
    checkout_sent: false,
  };
  await enqueue(visit, [...photosOut, { kind: "checkin", visit_id: id, household_id: household.household_id, body, label: "签到" }]);
  return visit;
}

/** Check out now: services, notes and closing photos, queued behind the visit's check-in. */
export async function checkOut(visit, { services, notes, position, photos }) {
  const deviceTime = new Date().toISOString();
  const photosOut = photoItems(visit.id, visit.household_id, photos, "签退照片");
  const body = { device_time: deviceTime, services: services.map((s) => s.code), notes, photo_ids: photosOut.map((p) => p.photo_id) };
  if (position) body.position = position;
  const finished = {
    ...visit,
    status: "completed",
    checkout_at: deviceTime,
    services: services.map((s) => s.label),
    checkout_photos: photos.length,
    checkout_sent: false,
  };
  await enqueue(finished, [
    ...photosOut,
    { kind: "checkout", visit_id: visit.id, household_id: visit.household_id, body, label: "签退" },
  ]);
  return finished;
}

/** A visit the server knows but this phone does not (checked in on another phone, or storage cleared). */
export function visitFromServer(account, detail) {
  return {
    id: detail.id,
    account_id: account.account_id,
    household_id: detail.household_id,
    household: { names: detail.household_names, village_name: detail.village_name, address: "", code: detail.household_code },
    presence: detail.presence,
    manual_reason_label: detail.manual_reason_label,
    checkin_at: detail.checkin_at,
    checkin_photos: detail.photos.filter((p) => p.stage === "checkin").length,
    status: detail.status,
    checkout_at: detail.checkout_at,
    services: detail.services.map((s) => s.label),
    checkin_sent: true,
    checkout_sent: detail.status === "completed",
  };
}
