// Money on screen: the API speaks integer fen, people read ¥1,234.56. Never a float in between.
// And the gauges that show how much of a budget has been delivered and paid.

import { h } from "./dom.js";

function grouped(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** 12345678 → "¥123,456.78"; an adjustment's negative amount → "-¥12.00". */
export function yuan(fen) {
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(fen);
  return `${sign}¥${grouped(String(Math.floor(abs / 100)))}.${String(abs % 100).padStart(2, "0")}`;
}

/** What a person types as yuan ("60", "60.5", "1,234.56") → fen, or null when it is not an amount. */
export function parseYuan(text) {
  const match = String(text).trim().replace(/[,，¥￥\s]/g, "").match(/^(\d{1,12})(?:\.(\d{0,2}))?$/);
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "").padEnd(2, "0"));
}

/** Yuan for an input's value: 6000 → "60.00". */
export function yuanInput(fen) {
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;
}

/** A count with thousands separators: 1936 → "1,936". */
export function count(n) {
  return (n < 0 ? "-" : "") + grouped(String(Math.abs(n)));
}

/** part / whole as "12.3%" (one decimal; "—" when there is no whole). */
export function share(part, whole) {
  if (!whole) return "—";
  const percent = (part * 100) / whole;
  if (part > 0 && percent < 0.1) return "<0.1%"; // something, if not yet a tenth of a percent
  return `${percent.toFixed(1).replace(/\.0$/, "")}%`;
}

let gaugeIds = 0;

/**
 * Committed / delivered / paid as horizontal bars with their numbers, each bar a share of what
 * is committed. A <meter> is a gauge to assistive technology too; the words beside it say the
 * same in text. `figures` is the API's budget shape (committed_fen, delivered_fen, paid_fen,
 * awaiting_confirmation_fen, remaining_fen).
 */
export function moneyGauges(figures, { title } = {}) {
  const whole = figures.committed_fen;
  const bar = (kind, label, fen, note) => {
    const id = `gauge-${++gaugeIds}`;
    return h(
      "div",
      { class: `gauge gauge-${kind}` },
      h(
        "p",
        { class: "gauge-label", id },
        h("span", { class: "gauge-name" }, label, note && h("span", { class: "gauge-share muted" }, note)),
        h("span", { class: "gauge-amount" }, yuan(fen)),
      ),
      h("meter", {
        class: "gauge-bar",
        min: "0",
        max: String(Math.max(whole, 1)),
        value: String(Math.max(0, Math.min(fen, Math.max(whole, 1)))),
        "aria-labelledby": id,
      }),
    );
  };
  return h(
    "div",
    { class: "gauges" },
    title && h("p", { class: "gauges-title" }, title),
    bar("committed", "合同承诺", whole, ""),
    bar("delivered", "已交付", figures.delivered_fen, share(figures.delivered_fen, whole)),
    bar("paid", "已支付", figures.paid_fen, share(figures.paid_fen, whole)),
    h(
      "p",
      { class: "gauges-rest muted" },
      `待确认的草稿结算单 ${yuan(figures.awaiting_confirmation_fen)}；`,
      figures.remaining_fen >= 0 ? `尚未交付 ${yuan(figures.remaining_fen)}` : `已超出承诺 ${yuan(-figures.remaining_fen)}`,
    ),
  );
}
