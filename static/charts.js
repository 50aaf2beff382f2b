// Charts as inline SVG built with DOM APIs: no library, no markup strings, no inline style (the
// CSP forbids it). Colours and line styles come from app.css classes (chart-series-N, chart-target).
// Every chart is a <figure> whose caption and SVG <title> say what it shows, and which a table
// beside it repeats in numbers.

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const SERIES_CLASSES = 6;

function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined && value !== false) element.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** 0.725 → "72.5%" (one decimal, "—" for nothing). */
export function percent(share) {
  if (share === null || share === undefined) return "—";
  return `${(share * 100).toFixed(1).replace(/\.0$/, "")}%`;
}

function svgRoot(width, height, label, children) {
  return s(
    "svg",
    { class: "chart-svg", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, preserveAspectRatio: "xMidYMid meet" },
    s("title", {}, label),
    ...children,
  );
}

function legend(names) {
  return h(
    "ul",
    { class: "chart-legend" },
    names.map((name, n) => h("li", {}, h("span", { class: `chart-key chart-series-${n % SERIES_CLASSES}`, "aria-hidden": "true" }), name)),
  );
}

/**
 * Shares (0–1) over months: `months` ["2026-01", …], `series` [{name, values}] (null: no data that
 * month, the line breaks), `target` a share drawn as a dashed line, or null.
 */
export function lineChart({ label, months, series, target = null, caption = "" }) {
  const width = 360;
  const height = 200;
  const [left, right, top, bottom] = [38, 10, 10, 24];
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const x = (n) => left + (months.length > 1 ? (n * plotWidth) / (months.length - 1) : plotWidth / 2);
  const y = (v) => top + plotHeight * (1 - Math.max(0, Math.min(1, v)));
  const parts = [];
  for (const tick of [0, 0.5, 1]) {
    parts.push(s("line", { class: "chart-grid", x1: left, x2: width - right, y1: y(tick), y2: y(tick) }));
    parts.push(s("text", { class: "chart-axis", x: left - 4, y: y(tick) + 4, "text-anchor": "end" }, `${tick * 100}%`));
  }
  const every = Math.ceil(months.length / 6);
  months.forEach((month, n) => {
    if (n % every === 0 || n === months.length - 1) {
      parts.push(s("text", { class: "chart-axis", x: x(n), y: height - 6, "text-anchor": "middle" }, `${Number(month.slice(5, 7))}月`));
    }
  });
  if (target !== null) {
    parts.push(s("line", { class: "chart-target", x1: left, x2: width - right, y1: y(target), y2: y(target) }));
    parts.push(s("text", { class: "chart-target-label", x: width - right, y: y(target) - 4, "text-anchor": "end" }, `目标 ${percent(target)}`));
  }
  series.forEach(({ name, values }, k) => {
    const group = s("g", { class: `chart-line chart-series-${k % SERIES_CLASSES}` });
    let run = [];
    const flush = () => {
      if (run.length > 1) group.append(s("polyline", { points: run.join(" ") }));
      run = [];
    };
    values.forEach((value, n) => {
      if (value === null || value === undefined) return flush();
      run.push(`${x(n).toFixed(1)},${y(value).toFixed(1)}`);
      group.append(s("circle", { cx: x(n).toFixed(1), cy: y(value).toFixed(1), r: 3 }, s("title", {}, `${name} ${months[n]}：${percent(value)}`)));
    });
    flush();
    parts.push(group);
  });
  return h(
    "figure",
    { class: "chart" },
    svgRoot(width, height, label, parts),
    series.length > 1 && legend(series.map((one) => one.name)),
    caption && h("figcaption", { class: "muted" }, caption),
  );
}

/**
 * Side-by-side horizontal bars: `bars` [{name, value, below}] (value of `max`; null: no data),
 * `format(value)` the number beside each bar, `target` a dashed line (same scale) or null.
 */
export function barChart({ label, bars, max = 1, target = null, format = percent, caption = "" }) {
  const width = 360;
  const row = 28;
  const [left, right] = [118, 46];
  const height = row * Math.max(1, bars.length) + (target === null ? 6 : 20);
  const plotWidth = width - left - right;
  const parts = [];
  bars.forEach(({ name, value, below }, n) => {
    const top = 4 + n * row;
    const shortName = name.length > 8 ? `${name.slice(0, 8)}…` : name;
    parts.push(s("text", { class: "chart-label", x: left - 6, y: top + 17, "text-anchor": "end" }, shortName, s("title", {}, name)));
    if (value === null || value === undefined) {
      parts.push(s("text", { class: "chart-axis", x: left + 4, y: top + 17 }, "无数据"));
      return;
    }
    const length = plotWidth * Math.max(0, Math.min(1, value / max));
    parts.push(
      s("rect", { class: below ? "chart-bar chart-bar-below" : "chart-bar", x: left, y: top + 4, width: length.toFixed(1), height: row - 10 }, s("title", {}, `${name}：${format(value)}`)),
    );
    parts.push(s("text", { class: "chart-value", x: (left + length + 4).toFixed(1), y: top + 17 }, format(value)));
  });
  if (target !== null) {
    const tx = left + plotWidth * Math.min(1, target / max);
    parts.push(s("line", { class: "chart-target", x1: tx, x2: tx, y1: 0, y2: height - 14 }));
    parts.push(s("text", { class: "chart-target-label", x: tx, y: height - 2, "text-anchor": "middle" }, `目标 ${format(target)}`));
  }
  return h("figure", { class: "chart" }, svgRoot(width, height, label, parts), caption && h("figcaption", { class: "muted" }, caption));
}
