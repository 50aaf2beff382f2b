// The county audit: the dashboard (a month's figures of a region, their trend, providers side by
// side, villages with households not visited as required, the monthly report), the ranked
// scorecards, and one provider's scorecard. Figures and their definitions come from the server;
// this page draws them (charts: ../charts.js) and links each to what lies behind it.

import { api } from "../api.js";
import { barChart, lineChart, percent } from "../charts.js";
import { fill, formatAgo, h, notice, shanghaiIsoDate } from "../dom.js";
import { jobProgress } from "../jobs.js";
import { count, yuan } from "../money.js";
import { auditsProviders, managesProvider } from "../roles.js";
import { dataTable } from "../tables.js";

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

function monthWords(key) {
  return `${Number(key.slice(0, 4))}年${Number(key.slice(5, 7))}月`;
}

function monthDays(key) {
  const [year, month] = key.split("-").map(Number);
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return [`${key}-01`, `${key}-${String(last).padStart(2, "0")}`];
}

function refused(root, title, text) {
  fill(root, h("h1", { tabindex: "-1" }, title), notice("info", text), h("a", { class: "button", href: "#/" }, "返回首页"));
}

/** The month and region an address asks for (this month and one's own region by default). */
function chosen(params) {
  const thisMonth = shanghaiIsoDate().slice(0, 7);
  const month = MONTH.test(params.get("month") || "") ? params.get("month") : thisMonth;
  const region = /^\d+$/.test(params.get("region") || "") ? params.get("region") : "";
  return { thisMonth, month, region };
}

function query({ month, region }) {
  const q = new URLSearchParams({ month });
  if (region) q.set("region_id", region);
  return q.toString();
}

function address(path, { month, region }) {
  const q = new URLSearchParams({ month });
  if (region) q.set("region", region);
  return `${path}?${q}`;
}

/** Month and region pickers; `regions` as the server offers them. */
function pickers(path, state, regions, navigate, idPrefix) {
  const monthInput = h("input", { id: `${idPrefix}-month`, name: "month", type: "month", value: state.month, max: state.thisMonth });
  const regionSelect =
    regions.length > 1 &&
    h(
      "select",
      { id: `${idPrefix}-region`, name: "region" },
      regions.map((r, n) => h("option", { value: n === 0 ? "" : String(r.id), selected: String(r.id) === state.region || (n === 0 && !state.region) }, r.name)),
    );
  return h(
    "form",
    {
      class: "filters filters-pair card",
      on: {
        submit: (event) => {
          event.preventDefault();
          navigate(address(path, { month: monthInput.value || state.thisMonth, region: regionSelect ? regionSelect.value : state.region }));
        },
      },
    },
    h("label", { class: "field", for: `${idPrefix}-month` }, h("span", { class: "field-label" }, "月份"), monthInput),
    regionSelect && h("label", { class: "field", for: `${idPrefix}-region` }, h("span", { class: "field-label" }, "县（区）/ 范围"), regionSelect),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button button-primary" }, "查看")),
  );
}

function met(value, target) {
  if (value === null || value === undefined) return h("span", { class: "badge" }, "无数据");
  return value >= target ? h("span", { class: "badge badge-done" }, "达标") : h("span", { class: "badge badge-below" }, "未达标");
}

function atMost(value, limit) {
  if (value === null || value === undefined) return h("span", { class: "badge" }, "无数据");
  return value <= limit ? h("span", { class: "badge badge-done" }, "达标") : h("span", { class: "badge badge-below" }, "未达标");
}

function target(thresholds, key) {
  const found = thresholds.find((t) => t.key === key);
  return found ? found.target : null;
}

/** The month's headline figures as tiles, each with its target and what it means. */
function figureTiles(figures, answer) {
  const definition = (key) => answer.definitions.find((d) => d.key === key);
  const tile = (key, value, detail, verdict) => {
    const d = definition(key);
    return h(
      "li",
      { class: "figure-tile", "data-figure": key },
      h("p", { class: "figure-name" }, d.label),
      h("p", { class: "figure-value" }, value),
      h("p", { class: "figure-detail muted" }, detail),
      h("p", { class: "figure-target" }, `目标 ${d.target} `, verdict),
      h("details", { class: "figure-definition" }, h("summary", {}, "口径"), h("p", {}, d.text)),
    );
  };
  return h(
    "ul",
    { class: "figure-tiles" },
    tile(
      "coverage",
      percent(figures.coverage),
      `${count(figures.households_met)} / ${count(figures.households_due)} 户达标，${count(figures.households_unvisited)} 户一次未上门`,
      met(figures.coverage, target(answer.thresholds, "coverage")),
    ),
    tile(
      "verified",
      percent(figures.verified_rate),
      `${count(figures.visits_evv)} / ${count(figures.visits_completed)} 次电子核验；核验通过 ${count(figures.visits_verified)} 次`,
      met(figures.verified_rate, target(answer.thresholds, "verified")),
    ),
    tile("on_time", percent(figures.on_time_rate), `${count(figures.on_time)} / ${count(figures.on_time_judged)} 个上门日按时`, met(figures.on_time_rate, target(answer.thresholds, "on_time"))),
    tile(
      "illness",
      percent(figures.illness_rate),
      `登记 ${figures.illness_reported} 次，24 小时内看护 ${figures.illness_within_target} 次` +
        (figures.illness_median_hours === null ? "" : `，中位 ${figures.illness_median_hours} 小时`),
      met(figures.illness_rate, target(answer.thresholds, "illness")),
    ),
    tile(
      "findings",
      `${count(figures.findings)} 条`,
      figures.findings_per_100 === null ? "本月无应上门户" : `每百户 ${figures.findings_per_100} 条（按计分权重）`,
      atMost(figures.findings_per_100, target(answer.thresholds, "findings_per_100")),
    ),
  );
}

function trendChart(trend, months, thresholds, caption) {
  return lineChart({
    label: "逐月趋势：覆盖率、电子核验率、按时上门率",
    months,
    series: [
      { name: "覆盖率", values: trend.map((f) => f.coverage) },
      { name: "电子核验率", values: trend.map((f) => f.verified_rate) },
      { name: "按时上门率", values: trend.map((f) => f.on_time_rate) },
    ],
    target: target(thresholds, "verified"),
    caption,
  });
}

function scorecardHref(provider, state) {
  return `#${address(`/scorecards/${provider.organisation_id}`, state)}`;
}

function reasonsList(provider) {
  if (provider.reasons.length === 0) return h("p", { class: "muted" }, "各项均达到满分。");
  return h(
    "ul",
    { class: "reasons" },
    provider.reasons.map((r) =>
      h(
        "li",
        { class: r.below_target ? "reason reason-below" : "reason" },
        h("span", { class: "reason-label" }, r.label),
        h("span", { class: "reason-value" }, r.value),
        h("span", { class: "reason-target muted" }, `目标 ${r.target}`),
        h("span", { class: "reason-points" }, `失 ${r.points_lost} 分`),
      ),
    ),
  );
}

function providerTable(providers, state, label) {
  return dataTable({
    label,
    className: "provider-table",
    columns: [
      { label: "服务机构" },
      { label: "名次", num: true },
      { label: "得分", num: true },
      { label: "覆盖率", num: true },
      { label: "电子核验率", num: true },
      { label: "按时率", num: true },
      { label: "违约发现", num: true },
      { label: "主要失分" },
    ],
    rows: providers.map((p) => [
      h("a", { class: "link", href: scorecardHref(p, state) }, p.name),
      p.rank === null ? "—" : String(p.rank),
      p.score === null ? "—" : String(p.score),
      percent(p.figures.coverage),
      percent(p.figures.verified_rate),
      percent(p.figures.on_time_rate),
      count(p.figures.findings),
      p.reasons.length ? p.reasons.slice(0, 2).map((r) => `${r.label} ${r.value}`).join("；") : "—",
    ]),
    empty: "本月没有服务机构的数据。",
  });
}

function findingsHref(filters) {
  const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== null && v !== undefined && v !== ""));
  return `#/findings?${q}`;
}

function clauseTable(clauses, filters, label) {
  return dataTable({
    label,
    className: "clause-table",
    columns: [{ label: "条款" }, { label: "违约发现", num: true }],
    rows: clauses.map((c) => [h("a", { class: "link", href: findingsHref({ ...filters, clause_id: c.clause }) }, c.label), count(c.findings)]),
    empty: "本月没有违约发现。",
  });
}

function facilityTable(facilities, thresholds) {
  const goal = target(thresholds, "records_per_resident_day");
  return dataTable({
    label: "集中供养服务记录",
    className: "facility-table",
    columns: [
      { label: "供养机构" },
      { label: "在院床日", num: true },
      { label: "服务记录", num: true },
      { label: "每床日记录", num: true },
      { label: "已给药", num: true },
      { label: "漏服", num: true },
      { label: `目标 ≥ ${goal}` },
    ],
    rows: facilities.map((f) => [
      f.name,
      count(f.figures.resident_days),
      count(f.figures.service_records),
      f.figures.records_per_resident_day === null ? "—" : String(f.figures.records_per_resident_day),
      count(f.figures.doses_given),
      count(f.figures.doses_missed),
      met(f.figures.records_per_resident_day, goal),
    ]),
    empty: "",
  });
}

function contractTable(contracts) {
  return dataTable({
    label: "合同覆盖与预算执行",
    className: "contract-figures-table",
    columns: [
      { label: "合同" },
      { label: "服务机构" },
      { label: "应上门户", num: true },
      { label: "覆盖率", num: true },
      { label: "承诺", num: true },
      { label: "已交付", num: true },
      { label: "已支付", num: true },
    ],
    rows: contracts.map((c) => [
      h("a", { class: "link", href: `#/contracts/${c.contract_id}` }, c.code),
      c.supplier_name,
      count(c.households_due),
      percent(c.coverage),
      yuan(c.committed_fen),
      yuan(c.delivered_fen),
      yuan(c.paid_fen),
    ]),
    empty: "没有可查看的合同。",
  });
}

function definitionsSection(definitions) {
  return h(
    "details",
    { class: "card definitions" },
    h("summary", {}, "各项指标的口径"),
    h(
      "dl",
      {},
      definitions.map((d) => [h("dt", {}, d.label, d.target && h("span", { class: "muted" }, `（目标 ${d.target}）`)), h("dd", {}, d.text)]),
    ),
  );
}

/** A village's households not visited as required, loaded when asked for. */
function villageRow(village, state, regionId) {
  const holder = h("div", { class: "village-households" });
  const [since, until] = monthDays(state.month);
  const open = h(
    "button",
    {
      type: "button",
      class: "button button-small",
      "aria-expanded": "false",
      on: {
        click: async () => {
          if (open.getAttribute("aria-expanded") === "true") {
            open.setAttribute("aria-expanded", "false");
            fill(holder);
            return;
          }
          open.setAttribute("aria-expanded", "true");
          fill(holder, h("p", { class: "loading" }, "正在加载…"));
          const q = new URLSearchParams({ month: state.month });
          if (regionId) q.set("region_id", regionId);
          try {
            const households = await api.get(`/api/oversight/villages/${village.village_id}/short-households?${q}`);
            fill(
              holder,
              h(
                "ul",
                { class: "short-households" },
                households.map((x) =>
                  h(
                    "li",
                    {},
                    h("a", { class: "link", href: `#/households/${x.household_id}` }, x.code),
                    h("span", { class: "muted" }, ` ${x.provider_name} · 应上门 ${x.required_days} 天，实际 ${x.visited_days} 天 `),
                    h("a", { class: "link", href: `#/visits?household=${x.household_id}&since=${since}&until=${until}` }, "服务记录"),
                  ),
                ),
              ),
            );
          } catch (error) {
            fill(holder, notice("error", error.message));
          }
        },
      },
    },
    "查看各户",
  );
  return h(
    "li",
    { class: "village" },
    h(
      "p",
      { class: "village-line" },
      h("span", { class: "village-name" }, `${village.township_name} ${village.village_name}`),
      h(
        "span",
        { class: "village-counts" },
        `应上门 ${village.households_due} 户，达标 ${village.households_met} 户，上门不足 ${village.households_short} 户，一次未上门 ${village.households_unvisited} 户`,
      ),
      open,
    ),
    holder,
  );
}

function reportSection(state, regionId, region) {
  const progress = h("div", { class: "job-area" });
  const message = h("div", { class: "form-message" });
  const q = new URLSearchParams({ month: state.month });
  if (regionId) q.set("region_id", regionId);
  const button = h(
    "button",
    {
      type: "button",
      class: "button button-primary",
      on: {
        click: async () => {
          button.disabled = true;
          fill(message);
          try {
            const body = { month: state.month };
            if (regionId) body.region_id = Number(regionId);
            const job = await api.post("/api/oversight/reports", { json: body });
            fill(
              progress,
              jobProgress(job, {
                title: `${region.name}${monthWords(state.month)}审核报告`,
                downloadLabel: "下载报告（可打印网页）",
                describe: (result) => `报告已生成：覆盖率 ${result.coverage}，电子核验率 ${result.verified_rate}。下载后用浏览器打开，按 A4 纸打印。`,
                onFinish: () => {
                  button.disabled = false;
                },
              }),
            );
          } catch (error) {
            button.disabled = false;
            fill(message, notice("error", error.message));
          }
        },
      },
    },
    "生成月度报告",
  );
  return h(
    "section",
    { class: "card report" },
    h("h2", {}, "月度审核报告"),
    h("p", { class: "muted" }, "本月各项指标、趋势图、服务机构排名和各机构的违约发现，生成可打印的中文报告。"),
    h("div", { class: "actions" }, button, h("a", { class: "button", href: `/api/oversight/report?${q}`, target: "_blank", rel: "noopener" }, "在浏览器中打印")),
    message,
    progress,
  );
}

export async function oversightPage(root, { account, params, navigate, setTitle }) {
  const title = "审核看板";
  setTitle(title);
  if (!auditsProviders(account)) return refused(root, title, "审核看板由市、县（区）民政局和乡镇（街道）查看。");
  const state = chosen(params);
  const results = h("div", { class: "results" }, h("p", { class: "loading" }, "正在统计…"));
  const header = [h("a", { class: "back", href: "#/" }, "‹ 首页"), h("h1", { tabindex: "-1" }, title)];
  fill(root, ...header, results);
  let d;
  try {
    d = await api.get(`/api/oversight/dashboard?${query(state)}`);
  } catch (error) {
    fill(root, ...header, pickers("/oversight", state, [], navigate, "oversight"), notice("error", error.message));
    return;
  }
  const [since, until] = monthDays(state.month);
  const findingFilters = {
    month: state.month,
    county_id: d.region.level === "county" ? d.region.id : null,
    township_id: d.region.level === "township" ? d.region.id : null,
  };
  const ranked = d.providers.filter((p) => p.score !== null);
  fill(
    root,
    ...header,
    h(
      "p",
      { class: "muted" },
      `${d.region.name} · ${monthWords(d.month)} · 统计用时 ${d.seconds} 秒`,
      d.live_as_of ? ` · 本月上门数据截至 ${formatAgo(d.live_as_of)}（每小时汇总）` : "",
    ),
    pickers("/oversight", state, d.regions, navigate, "oversight"),
    h("section", { class: "oversight-figures", "aria-label": "本月指标" }, figureTiles(d.totals, d)),
    h(
      "p",
      { class: "actions drill" },
      h("a", { class: "button", href: `#/visits?since=${since}&until=${until}` }, "本月服务记录"),
      h("a", { class: "button", href: `#/visits?flagged=1&since=${since}&until=${until}` }, "有疑点的服务记录"),
      h("a", { class: "button", href: findingsHref(findingFilters) }, "本月违约发现"),
      h("a", { class: "button", href: `#${address("/scorecards", state)}` }, "服务机构评分"),
    ),
    h("section", { class: "card" }, h("h2", {}, "逐月趋势"), trendChart(d.trend, d.months, d.thresholds, "虚线为电子核验率目标；覆盖率目标 95%，按时率目标 90%。")),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "服务机构对比"),
      ranked.length > 0 &&
        barChart({
          label: "各服务机构本月综合得分",
          bars: ranked.map((p) => ({ name: p.name, value: p.score, below: p.reasons.some((r) => r.below_target) })),
          max: 100,
          format: (v) => `${v}`,
          caption: "综合得分（满分 100），红色为有指标未达标。",
        }),
      ranked.length > 0 &&
        barChart({
          label: "各服务机构本月覆盖率",
          bars: ranked.map((p) => ({ name: p.name, value: p.figures.coverage, below: p.figures.coverage !== null && p.figures.coverage < target(d.thresholds, "coverage") })),
          target: target(d.thresholds, "coverage"),
          caption: "覆盖率（按协议上门）。",
        }),
      ranked.length > 0 &&
        barChart({
          label: "各服务机构本月电子核验率",
          bars: ranked.map((p) => ({ name: p.name, value: p.figures.verified_rate, below: p.figures.verified_rate !== null && p.figures.verified_rate < target(d.thresholds, "verified") })),
          target: target(d.thresholds, "verified"),
          caption: "电子核验率（扫码 + 照片，非手工录入）。",
        }),
      providerTable(d.providers, state, "服务机构排名"),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "违约发现（按条款）"),
      clauseTable(d.findings_by_clause, findingFilters, "本月违约发现按条款"),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "未按协议上门的村（社区）"),
      d.villages.length === 0
        ? h("p", { class: "muted" }, "本月各村（社区）的覆盖户均已按协议上门。")
        : h("ol", { class: "villages" }, d.villages.map((v) => villageRow(v, state, state.region))),
    ),
    d.facilities.length > 0 && h("section", { class: "card" }, h("h2", {}, "集中供养服务记录"), facilityTable(d.facilities, d.thresholds)),
    d.contracts.length > 0 && h("section", { class: "card" }, h("h2", {}, "合同覆盖与预算执行"), contractTable(d.contracts)),
    reportSection(state, state.region, d.region),
    definitionsSection(d.definitions),
  );
}

function scoreCard(provider, state) {
  return h(
    "li",
    { class: "scorecard-row" },
    h(
      "a",
      { class: "scorecard-link", href: scorecardHref(provider, state) },
      h("span", { class: "scorecard-rank" }, provider.rank === null ? "—" : `第 ${provider.rank} 名`),
      h("span", { class: "scorecard-name" }, provider.name),
      h("span", { class: "scorecard-score" }, provider.score === null ? "无数据" : `${provider.score} 分`),
    ),
    h("p", { class: "muted" }, "拉低得分的指标："),
    reasonsList(provider),
  );
}

export async function scorecardListPage(root, { account, params, navigate, setTitle }) {
  const title = "服务机构评分";
  setTitle(title);
  if (managesProvider(account) && account.organisation_id) return navigate(`/scorecards/${account.organisation_id}`);
  if (!auditsProviders(account)) return refused(root, title, "服务机构评分由市、县（区）民政局和乡镇（街道）查看。");
  const state = chosen(params);
  const header = [h("a", { class: "back", href: `#${address("/oversight", state)}` }, "‹ 审核看板"), h("h1", { tabindex: "-1" }, title)];
  fill(root, ...header, h("p", { class: "loading" }, "正在统计…"));
  let answer;
  try {
    answer = await api.get(`/api/oversight/scorecards?${query(state)}`);
  } catch (error) {
    fill(root, ...header, notice("error", error.message));
    return;
  }
  fill(
    root,
    ...header,
    h("p", { class: "muted" }, `${answer.region.name} · ${monthWords(answer.month)}：按综合得分排名，每家列出拉低得分的指标（红色为未达标）。`),
    pickers("/scorecards", state, answer.regions, navigate, "scorecards"),
    h(
      "p",
      { class: "thresholds" },
      "目标：",
      answer.thresholds.map((t) => h("span", { class: "badge" }, `${t.label} ${t.words}`)),
    ),
    answer.providers.length === 0 ? notice("info", "本月没有服务机构的数据。") : h("ol", { class: "scorecards" }, answer.providers.map((p) => scoreCard(p, state))),
    answer.facilities.length > 0 && h("section", { class: "card" }, h("h2", {}, "集中供养机构"), facilityTable(answer.facilities, answer.thresholds)),
    definitionsSection(answer.definitions),
  );
}

export async function scorecardPage(root, { account, params, match, navigate, setTitle }) {
  setTitle("评分卡");
  const own = managesProvider(account);
  if (!auditsProviders(account) && !own) return refused(root, "评分卡", "评分卡由民政部门和服务机构负责人查看。");
  const organisationId = match[1];
  const state = chosen(params);
  const back = own ? h("a", { class: "back", href: "#/" }, "‹ 首页") : h("a", { class: "back", href: `#${address("/scorecards", state)}` }, "‹ 服务机构评分");
  fill(root, back, h("h1", { tabindex: "-1" }, "评分卡"), h("p", { class: "loading" }, "正在统计…"));
  let card;
  try {
    card = await api.get(`/api/oversight/scorecards/${organisationId}?${query(state)}`);
  } catch (error) {
    fill(root, back, h("h1", { tabindex: "-1" }, "评分卡"), notice("error", error.message));
    return;
  }
  setTitle(`${card.name}评分卡`);
  const provider = card.provider;
  const [since, until] = monthDays(state.month);
  const findingFilters = { organisation_id: card.organisation_id, month: state.month };
  fill(
    root,
    back,
    h("h1", { tabindex: "-1" }, card.name),
    h(
      "p",
      { class: "muted" },
      own ? `本机构全市范围 · ${monthWords(card.month)}` : `${card.region.name} · ${monthWords(card.month)}`,
    ),
    pickers(`/scorecards/${organisationId}`, state, own ? [] : [card.region], navigate, "scorecard"),
    provider
      ? [
          h(
            "section",
            { class: "card scorecard-head" },
            h("p", { class: "scorecard-score-big" }, provider.score === null ? "无数据" : `${provider.score} 分`),
            provider.rank !== null && h("p", { class: "scorecard-rank" }, `在 ${card.ranked_among} 家服务机构中排第 ${provider.rank} 名`),
            h("h2", {}, "拉低得分的指标"),
            reasonsList(provider),
          ),
          h("section", { class: "oversight-figures", "aria-label": "本月指标" }, figureTiles(provider.figures, card)),
          h(
            "section",
            { class: "card" },
            h("h2", {}, "逐月得分与指标"),
            lineChart({
              label: "逐月综合得分",
              months: card.months,
              series: [{ name: "综合得分", values: provider.score_trend.map((v) => (v === null ? null : v / 100)) }],
              caption: "综合得分（满分 100，纵轴为百分比）。",
            }),
            trendChart(provider.trend, card.months, card.thresholds, "虚线为电子核验率目标。"),
          ),
          h(
            "p",
            { class: "actions drill" },
            h("a", { class: "button", href: findingsHref(findingFilters) }, "本月违约发现"),
            auditsProviders(account) && h("a", { class: "button", href: `#/visits?since=${since}&until=${until}` }, "本月服务记录"),
            own && h("a", { class: "button", href: `#/visits?flagged=1&since=${since}&until=${until}` }, "有疑点的服务记录"),
          ),
          h("section", { class: "card" }, h("h2", {}, "违约发现（按条款）"), clauseTable(card.findings_by_clause, findingFilters, "本机构本月违约发现按条款")),
        ]
      : !card.facility && notice("info", "本月该机构在此范围内没有居家照料服务的数据。"),
    card.facility && h("section", { class: "card" }, h("h2", {}, "集中供养服务记录"), facilityTable([card.facility], card.thresholds)),
    card.contracts.length > 0 && h("section", { class: "card" }, h("h2", {}, "合同"), contractTable(card.contracts)),
    definitionsSection(card.definitions),
  );
}
