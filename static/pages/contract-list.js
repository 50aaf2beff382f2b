// Purchased-service contracts the caller may see, filtered by status, kind, county and supplier,
// a page at a time, with what the filtered programme is worth in total.

import { api } from "../api.js";
import { fill, formatDate, h, notice } from "../dom.js";
import { yuan } from "../money.js";
import { isBureau, seesContracts } from "../roles.js";
import { listAddress, pageNumber, pager } from "../tables.js";

const PAGE_SIZE = 20;
const ALL = 200; // the API's largest page: a city has tens of contracts
const FILTERS = ["status", "kind", "county_id", "supplier_id"];

/** Every contract a query matches (for the filtered total), a largest page at a time. */
async function everyContract(query) {
  const found = [];
  for (let page = 1; ; page += 1) {
    const q = new URLSearchParams(query);
    q.set("page", String(page));
    q.set("page_size", String(ALL));
    const answer = await api.get(`/api/contracts?${q}`);
    found.push(...answer.items);
    if (found.length >= answer.total || answer.items.length === 0) return found;
  }
}

export function periodText(period) {
  return `${formatDate(period.start_date)} 至 ${formatDate(period.end_date)}`;
}

export function statusBadge(contract) {
  return h("span", { class: `badge contract-${contract.status}` }, contract.status_label);
}

function contractRow(contract) {
  return h(
    "li",
    {},
    h(
      "a",
      { class: "contract-row", href: `#/contracts/${contract.id}` },
      h("span", { class: "contract-row-title" }, contract.title),
      h("span", { class: "contract-row-status" }, statusBadge(contract)),
      h("span", { class: "contract-row-code code" }, contract.code),
      h("span", { class: "contract-row-supplier" }, contract.supplier.name),
      h("span", { class: "contract-row-area" }, contract.service_area.name),
      h("span", { class: "contract-row-period muted" }, periodText(contract.period)),
      h("span", { class: "contract-row-value" }, yuan(contract.value_fen)),
    ),
  );
}

function select(id, label, choices, chosen) {
  const element = h(
    "select",
    { id, name: id },
    h("option", { value: "" }, "全部"),
    choices.map(([value, text]) => h("option", { value: String(value), selected: String(value) === chosen }, text)),
  );
  return { element, field: h("label", { class: "field", for: id }, h("span", { class: "field-label" }, label), element) };
}

export async function contractListPage(root, { account, params, navigate, setTitle }) {
  const title = "购买服务合同";
  setTitle(title);
  if (!seesContracts(account)) {
    fill(root, h("h1", { tabindex: "-1" }, title), notice("info", "您的角色不查看购买服务合同。"), h("a", { class: "button", href: "#/" }, "返回首页"));
    return;
  }
  const chosen = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) || ""]));
  const page = pageNumber(params);
  const address = (target, values = chosen) => listAddress("/contracts", FILTERS, values, target);

  const results = h("div", { class: "results" }, h("p", { class: "loading" }, "正在加载…"));
  const filterBox = h("div", {});
  fill(
    root,
    h("a", { class: "back", href: "#/" }, "‹ 首页"),
    h("h1", { tabindex: "-1" }, title),
    !isBureau(account) && h("p", { class: "muted" }, "本机构作为服务机构签订的合同（只读）。"),
    filterBox,
    results,
  );

  const query = new URLSearchParams();
  for (const name of FILTERS) if (chosen[name]) query.set(name, chosen[name]);
  let vocabulary;
  let everything;
  let matching;
  let counties = [];
  try {
    [vocabulary, everything, matching, counties] = await Promise.all([
      api.get("/api/contracts/vocabulary"),
      everyContract(new URLSearchParams()),
      everyContract(query),
      isBureau(account) ? api.get("/api/regions?level=county&page_size=200").then((r) => r.items) : Promise.resolve([]),
    ]);
  } catch (error) {
    fill(results, notice("error", error.message));
    return;
  }

  // The suppliers to choose from are those of the contracts in view, so none leads to nothing.
  const suppliers = new Map(everything.map((c) => [c.supplier.id, c.supplier.name]));
  const status = select("filter-status", "合同状态", Object.entries(vocabulary.statuses), chosen.status);
  const kind = select("filter-kind", "合同类别", Object.entries(vocabulary.kinds), chosen.kind);
  const county = select("filter-county", "县（区）", counties.map((c) => [c.id, c.name]), chosen.county_id);
  const supplier = select("filter-supplier", "服务机构", [...suppliers], chosen.supplier_id);
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
                status: status.element.value,
                kind: kind.element.value,
                county_id: county.element.value,
                supplier_id: supplier.element.value,
              }),
            );
          },
        },
      },
      status.field,
      kind.field,
      counties.length > 1 && county.field,
      suppliers.size > 1 && supplier.field,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "button button-primary" }, "筛选"), h("a", { class: "button", href: "#/contracts" }, "清除筛选")),
    ),
  );

  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  const shown = matching.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const filtered = FILTERS.some((name) => chosen[name]);
  fill(
    results,
    h(
      "p",
      { class: "results-summary programme-total", "aria-live": "polite" },
      h("strong", { class: "results-total" }, `共 ${matching.length} 份合同`),
      h("span", {}, `${filtered ? "筛选结果" : "全部"}合同金额合计 `, h("strong", { class: "programme-value" }, yuan(matching.reduce((sum, c) => sum + c.value_fen, 0)))),
    ),
    shown.length === 0
      ? notice("info", filtered ? "没有符合条件的合同。" : "暂无可查看的合同。")
      : h(
          "ol",
          { class: "contract-rows" },
          h(
            "li",
            { class: "contract-rows-header", "aria-hidden": "true" },
            h("span", {}, "合同名称 / 服务期"),
            h("span", {}, "合同编号"),
            h("span", {}, "服务机构"),
            h("span", {}, "服务区域"),
            h("span", {}, "状态"),
            h("span", { class: "num" }, "合同金额"),
          ),
          shown.map(contractRow),
        ),
    matching.length > PAGE_SIZE && pager(page, pages, (target) => address(target)),
  );
}
