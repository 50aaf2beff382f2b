// Who the programme covers and who it reached in a month: covered, served (at least one verified
// visit or bed-day), not served; per county, per contract or for the whole region in view.

import { api } from "../api.js";
import { fill, h, notice, shanghaiIsoDate } from "../dom.js";
import { count, share } from "../money.js";
import { overseesProgramme } from "../roles.js";
import { dataTable } from "../tables.js";

const GROUPS = [
  ["county", "按县（区）", "县（区）"],
  ["contract", "按合同", "合同"],
  ["city", "全部合计", "范围"],
];

function servedCell(row) {
  return h(
    "span",
    { class: "served-share" },
    h("meter", { class: "gauge-bar", min: "0", max: String(Math.max(row.covered, 1)), value: String(row.served), "aria-label": `${row.label}已服务比例` }),
    h("span", {}, share(row.served, row.covered)),
  );
}

export async function coveragePage(root, { account, params, navigate, setTitle }) {
  const title = "覆盖情况";
  setTitle(title);
  if (!overseesProgramme(account)) {
    fill(root, h("h1", { tabindex: "-1" }, title), notice("info", "覆盖情况由市、县（区）民政局查看。"), h("a", { class: "button", href: "#/" }, "返回首页"));
    return;
  }
  const thisMonth = shanghaiIsoDate().slice(0, 7);
  const month = /^\d{4}-(0[1-9]|1[0-2])$/.test(params.get("month") || "") ? params.get("month") : thisMonth;
  const [group, , groupWord] = GROUPS.find(([value]) => value === params.get("group")) || GROUPS[0];
  const monthInput = h("input", { id: "coverage-month", name: "month", type: "month", value: month, max: thisMonth });
  const groupSelect = h(
    "select",
    { id: "coverage-group", name: "group" },
    GROUPS.map(([value, label]) => h("option", { value, selected: value === group }, label)),
  );
  const results = h("div", { class: "results" }, h("p", { class: "loading" }, "正在加载…"));
  fill(
    root,
    h("a", { class: "back", href: "#/" }, "‹ 首页"),
    h("h1", { tabindex: "-1" }, title),
    h("p", { class: "muted" }, "覆盖：该月在服务期内、至少一天由合同覆盖的户或住院人员；已服务：该月至少有一次核验通过的上门服务或一个在院床日。"),
    h(
      "form",
      {
        class: "filters filters-pair card",
        on: {
          submit: (event) => {
            event.preventDefault();
            navigate(`/coverage?month=${monthInput.value || thisMonth}&group=${groupSelect.value}`);
          },
        },
      },
      h("label", { class: "field field-wide", for: "coverage-month" }, h("span", { class: "field-label" }, "月份"), monthInput),
      h("label", { class: "field", for: "coverage-group" }, h("span", { class: "field-label" }, "分组"), groupSelect),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "button button-primary" }, "查看")),
    ),
    results,
  );

  let figures;
  try {
    figures = await api.get(`/api/coverage/figures?month=${month}&group=${group}`);
  } catch (error) {
    fill(results, notice("error", error.message));
    return;
  }
  const cells = (row, name) => [
    name,
    count(row.covered),
    count(row.served),
    count(row.not_served),
    servedCell(row),
    count(row.verified_visits),
    count(row.bed_days),
  ];
  const label = (row) => (group === "contract" ? h("span", {}, row.label, h("span", { class: "code muted cell-note" }, row.key)) : row.label);
  fill(
    results,
    h("p", { class: "results-summary" }, h("strong", {}, `${Number(month.slice(0, 4))}年${Number(month.slice(5, 7))}月`), h("span", {}, `覆盖 ${count(figures.total.covered)}，已服务 ${count(figures.total.served)}，未服务 ${count(figures.total.not_served)}`)),
    h(
      "div",
      { class: "card" },
      dataTable({
        label: `${title}（${groupWord}）`,
        className: "coverage-figures-table",
        columns: [
          { label: groupWord },
          { label: "覆盖", num: true },
          { label: "已服务", num: true },
          { label: "未服务", num: true },
          { label: "服务比例" },
          { label: "核验上门服务", num: true },
          { label: "在院床日", num: true },
        ],
        rows: figures.rows.map((row) => cells(row, label(row))),
        total: figures.rows.length > 1 ? cells(figures.total, figures.total.label) : null,
        empty: "该月没有在服务期内的合同。",
      }),
    ),
  );
}
