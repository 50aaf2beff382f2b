// The programme's budget for a year: what the contracts commit, what confirmed statements say
// was delivered, what has been paid; per county or per contract, as bars with their numbers.

import { api } from "../api.js";
import { fill, formatDate, h, notice, shanghaiIsoDate } from "../dom.js";
import { moneyGauges } from "../money.js";
import { overseesProgramme } from "../roles.js";

const GROUPS = [
  ["county", "按县（区）"],
  ["contract", "按合同"],
];

export async function budgetPage(root, { account, params, navigate, setTitle }) {
  const title = "预算执行";
  setTitle(title);
  if (!overseesProgramme(account)) {
    fill(root, h("h1", { tabindex: "-1" }, title), notice("info", "预算执行由市、县（区）民政局查看。"), h("a", { class: "button", href: "#/" }, "返回首页"));
    return;
  }
  const thisYear = Number(shanghaiIsoDate().slice(0, 4));
  const year = Number.parseInt(params.get("year") || "", 10) || thisYear;
  const group = GROUPS.some(([value]) => value === params.get("group")) ? params.get("group") : "county";
  const yearSelect = h(
    "select",
    { id: "budget-year", name: "year" },
    [thisYear + 1, thisYear, thisYear - 1, thisYear - 2].map((y) => h("option", { value: String(y), selected: y === year }, `${y} 年`)),
  );
  const groupSelect = h(
    "select",
    { id: "budget-group", name: "group" },
    GROUPS.map(([value, label]) => h("option", { value, selected: value === group }, label)),
  );
  const results = h("div", { class: "results" }, h("p", { class: "loading" }, "正在加载…"));
  fill(
    root,
    h("a", { class: "back", href: "#/" }, "‹ 首页"),
    h("h1", { tabindex: "-1" }, title),
    h("p", { class: "muted" }, "预算年度按合同服务期开始的年份计；承诺金额按今天生效的合同条款；已交付为已确认（含已支付）结算单的合计。"),
    h(
      "form",
      {
        class: "filters filters-pair card",
        on: {
          submit: (event) => {
            event.preventDefault();
            navigate(`/budget?year=${yearSelect.value}&group=${groupSelect.value}`);
          },
        },
      },
      h("label", { class: "field", for: "budget-year" }, h("span", { class: "field-label" }, "预算年度"), yearSelect),
      h("label", { class: "field", for: "budget-group" }, h("span", { class: "field-label" }, "分组"), groupSelect),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "button button-primary" }, "查看")),
    ),
    results,
  );

  let budget;
  let contracts = [];
  try {
    [budget, contracts] = await Promise.all([
      api.get(`/api/budget?year=${year}&group=${group}`),
      group === "contract" ? api.get("/api/contracts?page_size=200").then((page) => page.items) : Promise.resolve([]),
    ]);
  } catch (error) {
    fill(results, notice("error", error.message));
    return;
  }
  const byCode = new Map(contracts.map((c) => [c.code, c.id]));
  const name = (row) =>
    byCode.has(row.key) ? h("a", { href: `#/contracts/${byCode.get(row.key)}` }, row.label) : row.label;
  fill(
    results,
    h(
      "section",
      { class: "card budget-total", "aria-labelledby": "budget-total-title" },
      h("h2", { id: "budget-total-title" }, `${budget.year} 年合计（${budget.total.contracts} 份合同）`),
      h("p", { class: "muted" }, `截至 ${formatDate(budget.as_of)}`),
      moneyGauges(budget.total),
    ),
    budget.rows.length === 0
      ? notice("info", `${budget.year} 年没有可查看的合同。`)
      : h(
          "ol",
          { class: "budget-rows" },
          budget.rows.map((row) =>
            h(
              "li",
              { class: "card budget-row" },
              h("h3", {}, name(row)),
              h("p", { class: "muted" }, group === "contract" ? h("span", { class: "code" }, row.key) : `${row.contracts} 份合同`),
              moneyGauges(row),
            ),
          ),
        ),
  );
}
