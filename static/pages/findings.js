// The findings queue: breaches of the standard agreement the engine found, filtered by state,
// clause, provider, county or township and month, a page at a time. The bureaus see their region's,
// a provider its own (the server decides which); each row opens the finding with its evidence.

import { api } from "../api.js";
import { fill, formatDate, h, notice, shanghaiIsoDate } from "../dom.js";
import { yuan } from "../money.js";
import { isBureau, seesFindings } from "../roles.js";
import { listAddress, pageNumber, pager } from "../tables.js";

const PAGE_SIZE = 20;
const ALL = 200; // the API's largest page
const FILTERS = ["state", "clause_id", "organisation_id", "county_id", "township_id", "month", "household_id"];
const SETTLED_WITHOUT_DEDUCTION = new Set(["accepted", "waived", "resolved"]);

let vocabularyAnswer = null;

/** States, reasons, decisions, clause and service names in Chinese: asked once per page load. */
export function findingVocabulary() {
  if (!vocabularyAnswer) {
    vocabularyAnswer = api.get("/api/findings/vocabulary").catch((error) => {
      vocabularyAnswer = null;
      throw error;
    });
  }
  return vocabularyAnswer;
}

/** "2026年11月9日 至 2026年11月15日", or the one day. */
export function periodText(finding) {
  const start = formatDate(finding.period_start);
  return finding.period_start === finding.period_end ? start : `${start} 至 ${formatDate(finding.period_end)}`;
}

/** "2026-11" → "2026年11月". */
export function monthText(month) {
  const [year, number] = month.split("-");
  return `${year}年${Number(number)}月`;
}

export function stateBadge(finding) {
  return h("span", { class: `badge finding-${finding.state}` }, finding.state_label);
}

/** What the finding costs the provider: deducted, not deducted, or what upholding it would deduct. */
export function amountText(finding) {
  if (finding.state === "upheld") return `扣减 ${yuan(finding.amount_fen)}`;
  if (SETTLED_WITHOUT_DEDUCTION.has(finding.state)) return "不扣减";
  return `如维持扣减 ${yuan(finding.amount_fen)}`;
}

/** Findings as tappable rows: clause and state, who, when, expected against actual, money. */
export function findingRows(findings, { showHousehold = true, showProvider = true } = {}) {
  return h(
    "ol",
    { class: "finding-rows" },
    findings.map((f) =>
      h(
        "li",
        {},
        h(
          "a",
          { class: "finding-row", href: `#/findings/${f.id}` },
          h("span", { class: "finding-row-clause" }, f.clause_title),
          h("span", { class: "finding-row-state" }, stateBadge(f)),
          showHousehold &&
            h("span", { class: "finding-row-household" }, `${f.person_name_masked || "（未登记）"} · `, h("span", { class: "code" }, f.household_code), ` · ${f.village_name}`),
          h("span", { class: "finding-row-period muted" }, periodText(f)),
          h("span", { class: "finding-row-measure" }, `应达：${f.expected_text}；实际：${f.actual_text}`),
          showProvider && f.organisation_name && h("span", { class: "finding-row-provider muted" }, f.organisation_name),
          h("span", { class: `finding-row-amount finding-amount-${f.state}` }, amountText(f)),
        ),
      ),
    ),
  );
}

function select(id, label, choices, chosen) {
  const element = replaceOptions(h("select", { id, name: id }), choices, chosen);
  return { element, field: h("label", { class: "field", for: id }, h("span", { class: "field-label" }, label), element) };
}

async function regions(query) {
  return (await api.get(`/api/regions?${query}&page_size=${ALL}`)).items;
}

function replaceOptions(selectElement, choices, chosen = "") {
  return fill(
    selectElement,
    h("option", { value: "" }, "全部"),
    choices.map(([value, text]) => h("option", { value: String(value), selected: String(value) === chosen }, text)),
  );
}

export async function findingListPage(root, { account, params, navigate, setTitle }) {
  const title = "违约发现";
  setTitle(title);
  if (!seesFindings(account)) {
    fill(root, h("h1", { tabindex: "-1" }, title), notice("info", "您的角色不处理违约发现。"), h("a", { class: "button", href: "#/" }, "返回首页"));
    return;
  }
  const chosen = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) || ""]));
  const page = pageNumber(params);
  const address = (target, values = chosen) => listAddress("/findings", FILTERS, values, target);

  const filterBox = h("div", {});
  const results = h("div", { class: "results" }, h("p", { class: "loading" }, "正在加载…"));
  fill(
    root,
    h("a", { class: "back", href: "#/" }, "‹ 首页"),
    h("h1", { tabindex: "-1" }, title),
    h(
      "p",
      { class: "muted" },
      isBureau(account)
        ? "按服务协议逐日核查出的未履约情况。服务机构说明原因后，由县（区）民政局审核：采纳、免于扣减或维持扣减。"
        : "本机构被核查出的未履约情况。请逐条说明原因，县（区）民政局审核后确定是否扣减。",
    ),
    filterBox,
    results,
  );

  const bureau = isBureau(account);
  let vocabulary;
  let providers = [];
  let counties = [];
  try {
    [vocabulary, providers, counties] = await Promise.all([
      findingVocabulary(),
      bureau ? api.get(`/api/organisations?kind=provider&page_size=${ALL}`).then((r) => r.items) : Promise.resolve([]),
      bureau ? regions("level=county") : Promise.resolve([]),
    ]);
  } catch (error) {
    fill(results, notice("error", error.message));
    return;
  }
  // Townships of the chosen county; a county bureau's own county is chosen already.
  const countyOf = chosen.county_id || (counties.length === 1 ? String(counties[0].id) : "");
  let townships = [];
  if (bureau) {
    townships = await (countyOf ? regions(`level=township&parent_id=${countyOf}`) : Promise.resolve([])).catch(() => []);
  }

  const state = select("filter-state", "处理状态", Object.entries(vocabulary.states), chosen.state);
  const clause = select("filter-clause", "协议条款", Object.entries(vocabulary.clauses), chosen.clause_id);
  const provider = select("filter-provider", "服务机构", providers.map((p) => [p.id, p.name]), chosen.organisation_id);
  const county = select("filter-county", "县（区）", counties.map((c) => [c.id, c.name]), chosen.county_id);
  const township = select("filter-township", "乡镇（街道）", townships.map((t) => [t.id, t.name]), chosen.township_id);
  const month = h("input", { id: "filter-month", name: "month", type: "month", value: chosen.month, max: shanghaiIsoDate().slice(0, 7) });
  county.element.addEventListener("change", async () => {
    const picked = county.element.value;
    const found = picked ? await regions(`level=township&parent_id=${picked}`).catch(() => []) : [];
    replaceOptions(township.element, found.map((t) => [t.id, t.name]));
    township.field.hidden = found.length === 0;
  });
  township.field.hidden = townships.length === 0;

  fill(
    filterBox,
    h(
      "form",
      {
        class: "filters filters-pair card",
        on: {
          submit: (event) => {
            event.preventDefault();
            navigate(
              address(1, {
                state: state.element.value,
                clause_id: clause.element.value,
                organisation_id: provider.element.value,
                county_id: county.element.value,
                township_id: township.element.value,
                month: month.value,
                household_id: chosen.household_id,
              }),
            );
          },
        },
      },
      state.field,
      clause.field,
      counties.length > 1 && county.field,
      bureau && township.field,
      providers.length > 1 && provider.field,
      h("label", { class: "field", for: "filter-month" }, h("span", { class: "field-label" }, "所属月份"), month),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "button button-primary" }, "筛选"), h("a", { class: "button", href: "#/findings" }, "清除筛选")),
    ),
  );

  const query = new URLSearchParams({ page: String(page), page_size: String(PAGE_SIZE) });
  for (const name of FILTERS) if (chosen[name]) query.set(name, chosen[name]);
  let found;
  try {
    found = await api.get(`/api/findings?${query}`);
  } catch (error) {
    fill(results, notice("error", error.message));
    return;
  }
  const pages = Math.max(1, Math.ceil(found.total / PAGE_SIZE));
  const filtered = FILTERS.some((name) => chosen[name]);
  fill(
    results,
    chosen.household_id &&
      notice("info", "只显示一户的违约发现。", h("a", { class: "link", href: `#${address(1, { ...chosen, household_id: "" })}` }, "显示全部户")),
    h("p", { class: "results-summary", "aria-live": "polite" }, h("strong", { class: "results-total" }, `共 ${found.total} 条`)),
    found.items.length === 0
      ? notice("info", filtered ? "没有符合条件的违约发现。" : "暂无违约发现。")
      : findingRows(found.items, { showProvider: bureau }),
    found.total > PAGE_SIZE && pager(page, pages, (target) => address(target)),
  );
}
