// Building the page from data without innerHTML (so no record can inject markup), and the
// few formats every page shares.

/**
 * h("a", {class: "tile", href: "#/"}, "文字", child) — an element with attributes and children.
 * `on: {click: fn}` adds listeners; false/null children are skipped; arrays are flattened.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "on") {
      for (const [event, listener] of Object.entries(value)) element.addEventListener(event, listener);
    } else if (name === "class") {
      element.className = value;
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** Replace everything inside an element. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A message box: kind is "error", "success" or "info". Errors are announced to screen readers. */
export function notice(kind, ...children) {
  return h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

/** label: value pairs, as shown on detail pages. */
export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.map(([label, value]) => h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, value))),
  );
}

const SHANGHAI_DATE = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai",
  year: "numeric",
  month: "long",
  day: "numeric",
});
const SHANGHAI_DATE_TIME = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai",
  year: "numeric",
  month: "long",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

/** "2026-01-01" (a calendar date in China) → "2026年1月1日". */
export function formatDate(isoDate) {
  return isoDate ? SHANGHAI_DATE.format(new Date(`${isoDate}T00:00:00+08:00`)) : "";
}

/** A moment (Date or ISO string with offset) → Beijing time, whatever the phone's time zone. */
export function formatDateTime(moment) {
  return SHANGHAI_DATE_TIME.format(moment instanceof Date ? moment : new Date(moment));
}

export function formatCoordinate(latitude, longitude, digits) {
  if (latitude === null || latitude === undefined || longitude === null || longitude === undefined) return "未登记";
  return `纬度 ${latitude.toFixed(digits)}，经度 ${longitude.toFixed(digits)}`;
}

const SHANGHAI_TIME = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai",
  hour: "2-digit",
  minute: "2-digit",
  hour12: false,
});

/** A moment → "09:30", Beijing time. */
export function formatTime(moment) {
  return SHANGHAI_TIME.format(moment instanceof Date ? moment : new Date(moment));
}

// Days counted by the calendar in China, not by 24-hour spans.
function shanghaiDay(moment) {
  return Math.floor(((moment instanceof Date ? moment : new Date(moment)).getTime() + 8 * 3600 * 1000) / 86_400_000);
}

/** "今天 09:30", "昨天 16:05", "3 天前" — for when something last happened. */
export function formatAgo(moment) {
  const days = shanghaiDay(new Date()) - shanghaiDay(moment);
  if (days <= 0) return `今天 ${formatTime(moment)}`;
  if (days === 1) return `昨天 ${formatTime(moment)}`;
  return `${days} 天前`;
}

/** Seconds → "1:05:09" or "05:09": how long a visit has been going. */
export function formatElapsed(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n) => String(n).padStart(2, "0");
  const hours = Math.floor(s / 3600);
  return hours > 0 ? `${hours}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}` : `${two(Math.floor(s / 60))}:${two(s % 60)}`;
}

/** Today's date in China as YYYY-MM-DD (what date inputs and the API's date filters take). */
export function shanghaiIsoDate(moment = new Date()) {
  return new Date(moment.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}
