// Visits for supervisors: the provider's manager sees the organisation's, a bureau its region's
// (read-only); filtered by flags, review state, dates and worker, a page at a time. The
// approval queue is the same list fixed on "awaiting approval".

import { api } from "../api.js";
import { fill, formatDateTime, h, notice } from "../dom.js";
import { managesProvider, seesVisits } from "../roles.js";

const PAGE_SIZE = 20;
const REVIEW_CHOICES = [
  ["", "全部"],
  ["awaiting_approval", "待审核"],
  ["approved", "已审核通过"],
  ["rejected", "已驳回"],
  ["not_required", "无需审核"],
];

/** One visit as a tappable card: who, where, when, how presence was proven, its doubts. */
export function visitRow(visit, from = "") {
  const flags =
    visit.flag_count > 0
      ? h("span", { class: `badge ${visit.serious_flag_count > 0 ? "flag-serious" : "flag-warning"}` }, `${visit.flag_count} 个疑点`)
      : h("span", { class: "badge flag-none" }, "无疑点");
  const duration = visit.duration_minutes === null ? visit.status_label : `${visit.duration_minutes} 分钟`;
  return h(
    "li",
    {},
    h(
      "a",
      { class: "visit-row", href: `#/visits/${visit.id}${from ? `?from=${from}` : ""}` },
      h("span", { class: "visit-row-names" }, visit.household_names.join("、") || "（无登记人员）"),
      h("span", { class: "visit-row-badges" }, h("span", { class: `badge review-${visit.review}` }, visit.review_label), flags),
      h("span", { class: "visit-row-place muted" }, `${visit.village_name} · ${visit.household_code}`),
      h("span", { class: "visit-row-when" }, `${formatDateTime(visit.checkin_at)} · ${duration}`),
      h("span", { class: "visit-row-who muted" }, `${visit.worker_name} · ${visit.presence_label}`),
    ),
  );
}

function pager(page, pages, address) {
  const link = (label, target, enabled) =>
    enabled ? h("a", { class: "button", href: `#${address(target)}` }, label) : h("span", { class: "button", "aria-disabled": "true" }, label);
  return h(
    "nav",
    { class: "pager", "aria-label": "分页" },
    link("上一页", page - 1, page > 1),
    h("span", { class: "pager-position" }, `第 ${page} / ${pages} 页`),
    link("下一页", page + 1, page < pages),
  );
}

function refused(root, title) {
  fill(root, h("h1", { tabindex: "-1" }, title), notice("info", "您的角色不查看服务记录。"), h("a", { class: "button", href: "#/" }, "返回首页"));
}

async function showPage(results, query, page, address, emptyText, from) {
  query.set("page", String(page));
  query.set("page_size", String(PAGE_SIZE));
  let visits;
  try {
    visits = await api.get(`/api/visits?${query}`);
  } catch (error) {
    fill(results, notice("error", error.message));
    return;
  }
  const pages = Math.max(1, Math.ceil(visits.total / PAGE_SIZE));
  fill(
    results,
    h("p", { class: "results-summary", "aria-live": "polite" }, h("strong", { class: "results-total" }, `共 ${visits.total} 条`)),
    visits.items.length === 0 ? notice("info", emptyText) : h("ol", { class: "visit-rows" }, visits.items.map((v) => visitRow(v, from))),
    visits.total > PAGE_SIZE && pager(page, pages, address),
  );
}

function pageNumber(params) {
  return Math.max(1, Number.parseInt(params.get("page") || "1", 10) || 1);
}

export async function reviewQueuePage(root, { account, params, setTitle }) {
  setTitle("待审核");
  if (!seesVisits(account)) return refused(root, "待审核");
  const results = h("div", { class: "results" }, h("p", { class: "loading" }, "正在加载…"));
  fill(
    root,
    h("a", { class: "back", href: "#/" }, "‹ 首页"),
    h("h1", { tabindex: "-1" }, "待审核"),
    h("p", { class: "muted" }, "手工录入（未扫门牌卡）和扫码未通过的服务记录，需核实后通过或驳回。"),
    results,
  );
  const address = (page) => (page > 1 ? `/review?page=${page}` : "/review");
  await showPage(results, new URLSearchParams({ review: "awaiting_approval" }), pageNumber(params), address, "没有待审核的服务记录。", "review");
}

export async function visitListPage(root, { account, params, navigate, setTitle }) {
  setTitle("服务记录");
  if (!seesVisits(account)) return refused(root, "服务记录");
  const filters = {
    flagged: params.get("flagged") === "1",
    review: params.get("review") || "",
    since: params.get("since") || "",
    until: params.get("until") || "",
    worker: params.get("worker") || "",
    household: params.get("household") || "",
  };
  const address = (page, values = filters) => {
    const query = new URLSearchParams();
    if (values.flagged) query.set("flagged", "1");
    for (const name of ["review", "since", "until", "worker", "household"]) if (values[name]) query.set(name, values[name]);
    if (page > 1) query.set("page", String(page));
    const text = query.toString();
    return text ? `/visits?${text}` : "/visits";
  };

  const flagged = h("input", { type: "checkbox", id: "filter-flagged", name: "flagged", checked: filters.flagged });
  const review = h(
    "select",
    { id: "filter-review", name: "review" },
    REVIEW_CHOICES.map(([value, label]) => h("option", { value, selected: value === filters.review }, label)),
  );
  const since = h("input", { type: "date", id: "filter-since", name: "since", value: filters.since });
  const until = h("input", { type: "date", id: "filter-until", name: "until", value: filters.until });
  const worker = h("select", { id: "filter-worker", name: "worker" }, h("option", { value: "" }, "全部社工"));
  const form = h(
    "form",
    {
      class: "filters card",
      on: {
        submit: (event) => {
          event.preventDefault();
          navigate(
            address(1, {
              ...filters,
              flagged: flagged.checked,
              review: review.value,
              since: since.value,
              until: until.value,
              worker: worker.value,
            }),
          );
        },
      },
    },
    h("label", { class: "choice filter-flagged" }, flagged, h("span", {}, "只看有疑点的记录")),
    h("label", { class: "field" }, h("span", { class: "field-label" }, "审核状态"), review),
    h("div", { class: "filter-dates" }, h("label", { class: "field" }, h("span", { class: "field-label" }, "开始日期"), since), h("label", { class: "field" }, h("span", { class: "field-label" }, "结束日期"), until)),
    managesProvider(account) && h("label", { class: "field" }, h("span", { class: "field-label" }, "社工"), worker),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button button-primary" }, "筛选"), h("a", { class: "button", href: "#/visits" }, "清除筛选")),
  );
  const results = h("div", { class: "results" }, h("p", { class: "loading" }, "正在加载…"));
  fill(
    root,
    h("a", { class: "back", href: "#/" }, "‹ 首页"),
    h("h1", { tabindex: "-1" }, "服务记录"),
    filters.household && notice("info", "只显示一户的服务记录。", h("a", { class: "link", href: "#/visits" }, "查看全部")),
    form,
    results,
  );

  if (managesProvider(account)) {
    api
      .get("/api/staff")
      .then((staff) => {
        for (const person of staff.filter((s) => s.role === "field_worker")) {
          worker.append(h("option", { value: String(person.account_id), selected: String(person.account_id) === filters.worker }, person.display_name));
        }
      })
      .catch(() => {});
  }

  const query = new URLSearchParams();
  if (filters.flagged) query.set("flagged", "true");
  if (filters.review) query.set("review", filters.review);
  if (filters.since) query.set("since", filters.since);
  if (filters.until) query.set("until", filters.until);
  if (filters.worker) query.set("worker_id", filters.worker);
  if (filters.household) query.set("household_id", filters.household);
  await showPage(results, query, pageNumber(params), (page) => address(page), "没有符合条件的服务记录。", "");
}
