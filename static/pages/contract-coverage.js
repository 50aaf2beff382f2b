// Who a contract covers on a day: the households (or hospital stays) with the dates their cover
// began and ended and the amendment that made the change, a page at a time.

import { api } from "../api.js";
import { fill, formatDate, h, notice, shanghaiIsoDate } from "../dom.js";
import { caresForHouseholds, isBureau } from "../roles.js";
import { dataTable, listAddress, pageNumber, pager } from "../tables.js";

const PAGE_SIZE = 50;

function seqWords(seq) {
  return seq === 0 ? "原始合同" : `第 ${seq} 次变更`;
}

export async function contractCoveragePage(root, { account, match, params, navigate, setTitle }) {
  const contractId = match[1];
  const on = params.get("on") || "";
  const page = pageNumber(params);
  setTitle("覆盖对象");
  const back = h("a", { class: "back", href: `#/contracts/${contractId}${on ? `?on=${on}` : ""}` }, "‹ 返回合同");
  const address = (target, day = on) => listAddress(`/contracts/${contractId}/coverage`, ["on"], { on: day }, target);
  const query = new URLSearchParams({ contract_id: contractId, page: String(page), page_size: String(PAGE_SIZE) });
  if (on) query.set("on", on);
  let contract;
  let covered;
  try {
    [contract, covered] = await Promise.all([api.get(`/api/contracts/${contractId}`), api.get(`/api/coverage?${query}`)]);
  } catch (error) {
    fill(root, back, h("h1", { tabindex: "-1" }, "覆盖对象"), notice("error", error.message));
    return;
  }
  setTitle(`覆盖对象 · ${contract.code}`);
  const day = h("input", { id: "coverage-on", name: "on", type: "date", value: on });
  const opensHouseholds = isBureau(account) || caresForHouseholds(account);
  const pages = Math.max(1, Math.ceil(covered.total / PAGE_SIZE));
  fill(
    root,
    back,
    h(
      "header",
      { class: "page-header" },
      h("h1", { tabindex: "-1" }, "覆盖对象"),
      h("p", { class: "muted" }, `${contract.title}（${contract.code}）`),
    ),
    h(
      "form",
      {
        class: "filters card",
        on: {
          submit: (event) => {
            event.preventDefault();
            navigate(address(1, day.value));
          },
        },
      },
      h("label", { class: "field", for: "coverage-on" }, h("span", { class: "field-label" }, "只看某日有效的覆盖"), day),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", class: "button button-primary" }, "查看"),
        h("a", { class: "button", href: `#${address(1, shanghaiIsoDate())}` }, "今天"),
        h("a", { class: "button", href: `#${address(1, "")}` }, "全部（含已终止）"),
      ),
    ),
    h(
      "p",
      { class: "results-summary", "aria-live": "polite" },
      h("strong", { class: "results-total" }, `共 ${covered.total} 个覆盖对象`),
      on && h("span", {}, `${formatDate(on)}有效`),
    ),
    h(
      "div",
      { class: "card" },
      dataTable({
        label: "覆盖对象",
        className: "coverage-table",
        columns: [
          { label: "姓名" },
          { label: contract.kind === "home_care" ? "户编号" : "住院记录" },
          { label: contract.kind === "home_care" ? "村（社区）" : "病区床位" },
          { label: "覆盖期间" },
          { label: "依据" },
        ],
        rows: covered.items.map((c) => [
          c.household_id && opensHouseholds
            ? h("a", { href: `#/households/${c.household_id}` }, c.names.join("、") || "（无登记人员）")
            : c.names.join("、") || "（无登记人员）",
          c.household_id ? h("span", { class: "code" }, c.household_code) : `第 ${c.resident_id} 号`,
          c.place || "—",
          c.ends_on ? `${formatDate(c.starts_on)} 至 ${formatDate(c.ends_on)}` : `${formatDate(c.starts_on)} 起`,
          c.ended_by_seq === null ? `${seqWords(c.added_by_seq)}新增` : `${seqWords(c.added_by_seq)}新增，${seqWords(c.ended_by_seq)}终止`,
        ]),
        empty: on ? "该日没有覆盖对象。" : "本合同尚无覆盖对象。",
      }),
    ),
    covered.total > PAGE_SIZE && pager(page, pages, (target) => address(target)),
  );
}
