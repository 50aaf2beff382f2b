// A household's care agreement and how it was kept: the signed agreement (parties, version, fee,
// term, the printable document), its illnesses and hospital stays, and a month calendar of which
// days were visited, missed or sick, with that month's findings; the bureaus may re-check at once.

import { api } from "../api.js";
import { facts, fill, formatDate, formatDateTime, h, notice, shanghaiIsoDate } from "../dom.js";
import { disclosure } from "../forms.js";
import { yuan } from "../money.js";
import { seesFindings, seesVisits } from "../roles.js";
import { findingRows, monthText } from "./findings.js";

const WEEKDAYS = ["一", "二", "三", "四", "五", "六", "日"];
// What a day's square shows besides its number (the legend says it in words).
const MARKS = { visited: "✓", missed: "✗", week_short: "缺", sick: "病", hospitalised: "院" };
const LEGEND = [
  ["visited", "已上门（已核实）"],
  ["unverified", "有上门记录但未核实（虚线框）"],
  ["missed", "应上门未上门"],
  ["week_short", "本周上门天数不足"],
  ["sick", "居家患病"],
  ["hospitalised", "住院"],
  ["ordinary", "无需上门"],
  ["future", "尚未到期"],
  ["outside", "不在协议期内"],
  ["required", "圆点：当天必须上门（每日照料或患病期间）"],
];

/** "2026-11" shifted by n months. */
function shiftMonth(month, n) {
  const [year, number] = month.split("-").map(Number);
  const index = year * 12 + (number - 1) + n;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}`;
}

function termText(agreement) {
  return agreement.ends_on ? `${formatDate(agreement.starts_on)} 至 ${formatDate(agreement.ends_on)}` : `${formatDate(agreement.starts_on)} 起，长期有效`;
}

function agreementSection(agreement) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "agreement-title" },
    h("h2", { id: "agreement-title" }, "服务协议"),
    facts([
      ["协议编号", h("span", { class: "code" }, agreement.code)],
      ["状态", h("span", { class: `badge agreement-${agreement.status}` }, agreement.status_label)],
      ["甲方", agreement.township_office_name],
      ["乙方", `${agreement.caregiver_name}（${agreement.caregiver_kind_label}）`],
      ["丙方", agreement.person_name],
      ["标准文本", `第 ${agreement.template_version} 版 · ${agreement.template_title}`],
      ["自理能力", h("span", { class: `badge care-${agreement.care_level}` }, agreement.care_level_label)],
      ["照料护理费", h("span", { class: "agreement-fee" }, `${yuan(agreement.monthly_fee_fen)} / 月`)],
      ["协议期限", termText(agreement)],
      ["签订", `${formatDate(agreement.signed_on)} · ${agreement.signed_by_name}`],
      ["违约扣减", `每次 ${yuan(agreement.per_breach_fen)}，每月合计不超过 ${yuan(agreement.monthly_cap_fen)}`],
      ["待处理发现", `${agreement.open_findings} 条`],
    ]),
    h("a", { class: "button", href: agreement.print_url, target: "_blank", rel: "noopener" }, "打印协议文本"),
    disclosure(
      "查看协议条款",
      h(
        "ol",
        { class: "agreement-clauses" },
        agreement.clauses.map((c) => h("li", {}, h("strong", {}, `${c.title}：`), c.text)),
      ),
    ),
  );
}

function episodeItem(episode) {
  const until = episode.ended_at ? `至 ${formatDateTime(episode.ended_at)}（${episode.end_reason_label}）` : "至今（尚未结束）";
  return h(
    "li",
    { class: `episode episode-${episode.kind}` },
    h("p", { class: "episode-title" }, h("span", { class: `badge day-badge-${episode.kind === "hospitalised" ? "hospitalised" : "sick"}` }, episode.kind_label), episode.hospital && ` ${episode.hospital}`),
    h("p", {}, `${formatDateTime(episode.started_at)} 起，${until}`),
    episode.note && h("p", { class: "muted" }, episode.note),
    h("p", { class: "muted" }, `登记：${episode.reported_by_name}${episode.ended_by_name ? `；结束登记：${episode.ended_by_name}` : ""}`),
  );
}

function episodeSection(episodes) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "episodes-title" },
    h("h2", { id: "episodes-title" }, "患病、住院登记"),
    episodes.length === 0
      ? h("p", { class: "muted" }, "没有患病或住院登记。")
      : h("ul", { class: "episodes" }, episodes.map(episodeItem)),
  );
}

function dayLabel(day) {
  const [, month, number] = day.date.split("-").map(Number);
  const weekday = WEEKDAYS[(new Date(`${day.date}T00:00:00Z`).getUTCDay() + 6) % 7];
  const extra = [day.required && "当天必须上门", day.unverified_visit_ids.length > 0 && day.status !== "visited" && "有未核实的上门记录"].filter(Boolean);
  return `${month}月${number}日 星期${weekday}：${day.status_label}${extra.length > 0 ? `，${extra.join("，")}` : ""}`;
}

function visitLinks(ids, words, linked) {
  if (ids.length === 0) return null;
  return h(
    "li",
    {},
    `${words} ${ids.length} 条`,
    linked && h("span", { class: "day-visits" }, ids.map((id, n) => h("a", { class: "link", href: `#/visits/${id}` }, `记录 ${n + 1}`))),
  );
}

function dayDetail(day, account) {
  const linked = seesVisits(account);
  const sick = { ill_at_home: "居家患病", hospitalised: "住院" }[day.sick];
  return [
    h("h3", {}, dayLabel(day).split("：")[0]),
    h("p", {}, h("span", { class: `badge day-badge-${day.status}` }, day.status_label)),
    h(
      "ul",
      { class: "day-facts" },
      day.in_agreement && h("li", {}, day.required ? "当天必须上门" : "当天不单独要求上门（按周、按间隔核查）"),
      sick && h("li", {}, `当天${sick}`),
      day.week_short && h("li", {}, "所在的一周上门天数不足"),
      visitLinks(day.visit_ids, "已核实的上门记录", linked),
      visitLinks(day.unverified_visit_ids, "未核实的上门记录（待审核、扫码未通过或有严重疑点，不计入）", linked),
    ),
  ];
}

function calendarGrid(calendar, account) {
  const detail = h("div", { class: "day-detail", "aria-live": "polite" }, h("p", { class: "muted" }, "点日期查看当天的情况和上门记录。"));
  const lead = (new Date(`${calendar.days[0].date}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday first
  const cells = [];
  const choose = (button, day) => {
    for (const other of cells) other.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-pressed", "true");
    fill(detail, dayDetail(day, account));
  };
  for (const day of calendar.days) {
    const unverified = day.unverified_visit_ids.length > 0 && day.status !== "visited";
    const classes = ["day", `day-${day.status}`, unverified && "day-unverified", day.required && "day-required"].filter(Boolean);
    const button = h(
      "button",
      { type: "button", class: classes.join(" "), "aria-label": dayLabel(day), "aria-pressed": "false", "data-date": day.date },
      h("span", { class: "day-number" }, String(Number(day.date.slice(8)))),
      h("span", { class: "day-mark", "aria-hidden": "true" }, MARKS[day.status] || ""),
    );
    button.addEventListener("click", () => choose(button, day));
    cells.push(button);
  }
  return [
    h(
      "div",
      { class: "calendar", role: "group", "aria-label": `${monthText(calendar.month)}履约日历` },
      WEEKDAYS.map((w) => h("span", { class: "calendar-weekday", "aria-hidden": "true" }, w)),
      Array.from({ length: lead }, () => h("span", { class: "calendar-blank", "aria-hidden": "true" })),
      cells,
    ),
    detail,
  ];
}

function tally(days) {
  const count = (test) => days.filter(test).length;
  return [
    ["已上门", count((d) => d.status === "visited")],
    ["应上门未上门", count((d) => d.status === "missed")],
    ["所在周上门不足", count((d) => d.status === "week_short")],
    ["未核实", count((d) => d.unverified_visit_ids.length > 0 && d.status !== "visited")],
    ["患病", count((d) => d.status === "sick")],
    ["住院", count((d) => d.status === "hospitalised")],
  ].filter(([, n], index) => index < 2 || n > 0); // visited and missed always, the rest when they occur
}

function legend() {
  return h(
    "ul",
    { class: "calendar-legend", "aria-label": "图例" },
    LEGEND.map(([kind, words]) => h("li", {}, h("span", { class: `legend-swatch legend-${kind}`, "aria-hidden": "true" }, MARKS[kind] || ""), words)),
  );
}

function evaluateButton(calendar, redraw) {
  const box = h("div", { class: "form-message", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "button" }, "立即核查本月");
  button.addEventListener("click", async () => {
    button.disabled = true;
    fill(box, h("p", { class: "loading" }, "正在核查…"));
    try {
      const result = await api.post("/api/agreement-evaluations", {
        json: { household_id: calendar.household_id, since: calendar.month, until: calendar.month },
      });
      const changes = [
        result.created && `新增 ${result.created} 条`,
        result.updated && `更新 ${result.updated} 条`,
        result.resolved + result.removed > 0 && `不再成立 ${result.resolved + result.removed} 条`,
      ].filter(Boolean);
      redraw(`核查完成：本月违约发现 ${result.findings} 条${changes.length > 0 ? `（${changes.join("，")}）` : "，与上次核查相同"}。`);
    } catch (error) {
      fill(box, notice("error", error.message));
      button.disabled = false;
    }
  });
  return h("div", { class: "evaluate" }, button, box);
}

function calendarSection(calendar, context, redraw) {
  const { account } = context;
  const month = calendar.month;
  const thisMonth = shanghaiIsoDate().slice(0, 7);
  const address = (m) => `#/households/${calendar.household_id}/agreement?month=${m}`;
  const later = month < thisMonth;
  return h(
    "section",
    { class: "card", "aria-labelledby": "calendar-title" },
    h("h2", { id: "calendar-title" }, "履约日历"),
    h(
      "nav",
      { class: "month-nav", "aria-label": "切换月份" },
      h("a", { class: "button", href: address(shiftMonth(month, -1)) }, "‹ 上月"),
      h("strong", { class: "month-nav-current" }, monthText(month)),
      later ? h("a", { class: "button", href: address(shiftMonth(month, 1)) }, "下月 ›") : h("span", { class: "button", "aria-disabled": "true" }, "下月 ›"),
    ),
    h("p", { class: "calendar-tally" }, tally(calendar.days).map(([words, n]) => h("span", { class: "calendar-tally-item" }, `${words} `, h("strong", {}, String(n)), " 天"))),
    calendarGrid(calendar, account),
    disclosure("图例", legend()),
    calendar.can_evaluate && evaluateButton(calendar, redraw),
  );
}

function findingsSection(calendar, account) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "month-findings-title" },
    h("h2", { id: "month-findings-title" }, `${monthText(calendar.month)}的违约发现（${calendar.findings.length}）`),
    calendar.findings.length === 0
      ? h("p", { class: "muted" }, "本月没有违约发现。")
      : findingRows(calendar.findings, { showHousehold: false, showProvider: false }),
    seesFindings(account) && h("a", { class: "link", href: `#/findings?household_id=${calendar.household_id}` }, "查看本户全部违约发现"),
  );
}

export async function householdAgreementPage(root, context) {
  const { match, params, setTitle } = context;
  const householdId = match[1];
  setTitle("服务协议与履约");
  const month = /^\d{4}-(0[1-9]|1[0-2])$/.test(params.get("month") || "") ? params.get("month") : shanghaiIsoDate().slice(0, 7);
  const back = h("a", { class: "back", href: `#/households/${householdId}` }, "‹ 户详情");

  async function load(done = "") {
    let calendar;
    let episodes;
    let agreement = null;
    try {
      [calendar, episodes] = await Promise.all([
        api.get(`/api/households/${householdId}/compliance?month=${month}`),
        api.get(`/api/sick-episodes?household_id=${householdId}&page_size=50`).then((page) => page.items),
      ]);
      // The agreement that governed the month shown; without one, the one in force today.
      agreement = calendar.agreement
        ? await api.get(`/api/agreements/${calendar.agreement.id}`)
        : await api.get(`/api/households/${householdId}/agreement`).catch((error) => {
            if (error.status === 404) return null;
            throw error;
          });
    } catch (error) {
      fill(root, back, h("h1", { tabindex: "-1" }, "服务协议与履约"), notice("error", error.message));
      return;
    }
    const who = agreement ? agreement.person_name : "";
    setTitle(`${who ? `${who} · ` : ""}服务协议与履约`);
    fill(
      root,
      back,
      h(
        "header",
        { class: "page-header" },
        h("h1", { tabindex: "-1" }, "服务协议与履约"),
        h("p", { class: "household-code-line" }, who && `${who} · `, "户编号 ", h("span", { class: "code" }, calendar.household_code)),
      ),
      done && notice("success", done),
      agreement ? agreementSection(agreement) : notice("info", "本户尚未签订服务协议。协议由乡镇（街道）经办人签订。"),
      calendarSection(calendar, context, load),
      findingsSection(calendar, context.account),
      episodeSection(episodes),
    );
  }
  await load();
}
