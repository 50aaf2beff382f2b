// Monthly settlement statements across the contracts in view, by month and state: what a county
// auditor has to sign off, what the city has to pay.

import { api } from "../api.js";
import { fill, h, notice, shanghaiIsoDate } from "../dom.js";
import { yuan } from "../money.js";
import { overseesProgramme } from "../roles.js";
import { listAddress, pageNumber, pager } from "../tables.js";

const PAGE_SIZE = 20;
const STATES = [
  ["", "全部"],
  ["draft", "草稿（待确认）"],
  ["confirmed", "已确认（待支付）"],
  ["paid", "已支付"],
];

export function statementBadges(statement) {
  return [
    h("span", { class: `badge statement-${statement.status}` }, statement.status_label),
    statement.kind === "adjustment" && h("span", { class: "badge statement-adjustment" }, "调整单"),
  ];
}

/** Statements as tappable rows: month and kind, state, what is owed; the contract when asked. */
export function statementRows(statements, { showContract = true } = {}) {
  return h(
    "ol",
    { class: "statement-rows" },
    statements.map((s) =>
      h(
        "li",
        {},
        h(
          "a",
          { class: "statement-row", href: `#/statements/${s.id}` },
          h("span", { class: "statement-row-month" }, `${s.month_label} ${s.kind === "adjustment" ? s.kind_label : "结算单"}`),
          h("span", { class: "statement-row-badges" }, statementBadges(s)),
          showContract && h("span", { class: "statement-row-contract muted" }, `${s.contract_code} · ${s.supplier_name}`),
          h("span", { class: "statement-row-code code muted" }, s.code),
          h("span", { class: "statement-row-total" }, `应付 ${yuan(s.total_fen)}`),
        ),
      ),
    ),
  );
}

export async function statementListPage(root, { account, params, navigate, setTitle }) {
  const title = "结算单";
  setTitle(title);
  if (!overseesProgramme(account)) {
    fill(root, h("h1", { tabindex: "-1" }, title), notice("info", "您的角色不审核结算单。"), h("a", { class: "button", href: "#/" }, "返回首页"));
    return;
  }
  const chosen = { month: params.get("month") || "", status: params.get("status") || "" };
  const page = pageNumber(params);
  const address = (target, values = chosen) => listAddress("/statements", ["month", "status"], values, target);
  const month = h("input", { id: "filter-month", name: "month", type: "month", value: chosen.month, max: shanghaiIsoDate().slice(0, 7) });
  const status = h(
    "select",
    { id: "filter-status", name: "status" },
    STATES.map(([value, label]) => h("option", { value, selected: value === chosen.status }, label)),
  );
  const results = h("div", { class: "results" }, h("p", { class: "loading" }, "正在加载…"));
  fill(
    root,
    h("a", { class: "back", href: "#/" }, "‹ 首页"),
    h("h1", { tabindex: "-1" }, title),
    h(
      "form",
      {
        class: "filters filters-pair card",
        on: {
          submit: (event) => {
            event.preventDefault();
            navigate(address(1, { month: month.value, status: status.value }));
          },
        },
      },
      h("label", { class: "field field-wide", for: "filter-month" }, h("span", { class: "field-label" }, "结算月份"), month),
      h("label", { class: "field", for: "filter-status" }, h("span", { class: "field-label" }, "状态"), status),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "button button-primary" }, "筛选"), h("a", { class: "button", href: "#/statements" }, "清除筛选")),
    ),
    results,
  );

  const query = new URLSearchParams({ page: String(page), page_size: String(PAGE_SIZE) });
  if (chosen.month) query.set("month", chosen.month);
  if (chosen.status) query.set("status", chosen.status);
  let statements;
  try {
    statements = await api.get(`/api/statements?${query}`);
  } catch (error) {
    fill(results, notice("error", error.message));
    return;
  }
  const pages = Math.max(1, Math.ceil(statements.total / PAGE_SIZE));
  fill(
    results,
    h("p", { class: "results-summary", "aria-live": "polite" }, h("strong", { class: "results-total" }, `共 ${statements.total} 份`)),
    statements.items.length === 0
      ? notice("info", "没有符合条件的结算单。结算单在合同页面按月生成。")
      : statementRows(statements.items),
    statements.total > PAGE_SIZE && pager(page, pages, (target) => address(target)),
  );
}
