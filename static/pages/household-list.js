// Households the caller may see, searchable by name, village or household code, a page at a time.

import { api } from "../api.js";
import { fill, h, notice } from "../dom.js";
import { householdListTitle, seesHouseholds } from "../roles.js";

const PAGE_SIZE = 20;

function listAddress(q, page) {
  const query = new URLSearchParams();
  if (q) query.set("q", q);
  if (page > 1) query.set("page", String(page));
  const text = query.toString();
  return text ? `/households?${text}` : "/households";
}

function householdRow(household) {
  const place = [household.county_name, household.township_name, household.village_name].join(" ");
  return h(
    "li",
    {},
    h(
      "a",
      { class: "household", href: `#/households/${household.id}` },
      h("span", { class: "household-names" }, household.names.join("、") || "（无登记人员）"),
      h("span", { class: "household-code" }, household.code),
      h("span", { class: "household-care" }, household.care_level_label && h("span", { class: `badge care-${household.care_level}` }, household.care_level_label)),
      h("span", { class: "household-place" }, place),
      h("span", { class: "household-address" }, household.address),
    ),
  );
}

function pageLink(label, page, q, enabled) {
  return enabled
    ? h("a", { class: "button", href: `#${listAddress(q, page)}` }, label)
    : h("span", { class: "button", "aria-disabled": "true" }, label);
}

export async function householdListPage(root, { account, params, navigate, setTitle }) {
  const title = householdListTitle(account);
  setTitle(title);
  if (!seesHouseholds(account)) {
    fill(
      root,
      h("h1", { tabindex: "-1" }, title),
      notice("info", "您的角色不负责分散供养户。"),
      h("a", { class: "button", href: "#/" }, "返回首页"),
    );
    return;
  }
  const q = (params.get("q") || "").trim();
  const page = Math.max(1, Number.parseInt(params.get("page") || "1", 10) || 1);

  const search = h("input", {
    id: "household-search",
    type: "search",
    name: "q",
    value: q,
    maxlength: "50",
    enterkeyhint: "search",
    placeholder: "姓名、村（社区）或户编号",
  });
  const form = h(
    "form",
    {
      class: "search",
      role: "search",
      on: {
        submit: (event) => {
          event.preventDefault();
          navigate(listAddress(search.value.trim(), 1));
        },
      },
    },
    h("label", { class: "visually-hidden", for: "household-search" }, "搜索"),
    search,
    h("button", { type: "submit", class: "button button-primary" }, "搜索"),
  );
  const results = h("div", { class: "results" }, h("p", { class: "loading" }, "正在加载…"));
  fill(root, h("h1", { tabindex: "-1" }, title), form, results);

  const query = new URLSearchParams({ page: String(page), page_size: String(PAGE_SIZE) });
  if (q) query.set("q", q);
  let households;
  try {
    households = await api.get(`/api/households?${query}`);
  } catch (error) {
    fill(results, notice("error", error.message));
    return;
  }

  const pages = Math.max(1, Math.ceil(households.total / PAGE_SIZE));
  fill(
    results,
    h(
      "p",
      { class: "results-summary", "aria-live": "polite" },
      h("strong", { class: "results-total" }, `共 ${households.total} 户`),
      q && h("span", {}, `“${q}”的搜索结果`),
      q && h("a", { class: "link", href: "#/households" }, "清除搜索"),
    ),
    households.items.length === 0
      ? notice("info", q ? "没有找到符合条件的户，请换个关键词试试。" : "暂无可查看的户。")
      : h(
          "ol",
          { class: "households" },
          h(
            "li",
            { class: "households-header", "aria-hidden": "true" },
            h("span", {}, "姓名"),
            h("span", {}, "户编号"),
            h("span", {}, "自理能力"),
            h("span", {}, "所在地"),
            h("span", {}, "地址"),
          ),
          households.items.map(householdRow),
        ),
    households.total > 0 &&
      h(
        "nav",
        { class: "pager", "aria-label": "分页" },
        pageLink("上一页", page - 1, q, page > 1),
        h("span", { class: "pager-position" }, `第 ${page} / ${pages} 页`),
        pageLink("下一页", page + 1, q, page < pages),
      ),
  );
}
