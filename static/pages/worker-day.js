// The field worker's day: today's households, least recently visited first, with the big buttons
// to scan a door card or start a visit. Shown from the phone's own copy when there is no signal.

import { fill, formatAgo, formatDate, formatDateTime, h, notice, shanghaiIsoDate } from "../dom.js";
import { cachedToday, fetchToday, myVisits, placeOf, vocabulary, withMyVisits } from "../fieldwork.js";
import { loadDecoder } from "../qr.js";

function lastVisitText(household) {
  if (household.open_visit_id) return "服务中，尚未签退";
  if (!household.last_visit_at) return "从未服务";
  return `上次服务：${formatAgo(household.last_visit_at)}`;
}

function householdRow(household) {
  const open = household.open_visit_id;
  return h(
    "li",
    { class: `day-household${household.visited_today ? " day-household-done" : ""}${open ? " day-household-open" : ""}` },
    h(
      "div",
      { class: "day-household-facts" },
      h(
        "p",
        { class: "day-names" },
        h("span", {}, household.names.join("、") || "（无登记人员）"),
        household.care_level_label && h("span", { class: "badge" }, household.care_level_label),
        household.visited_today && !open && h("span", { class: "badge badge-done" }, "今日已服务"),
      ),
      h("p", { class: "day-place" }, placeOf(household)),
      h("p", { class: "day-last muted" }, lastVisitText(household)),
    ),
    open
      ? h("a", { class: "button button-warn day-action", href: `#/visit/${open}` }, "继续服务")
      : h(
          "a",
          {
            class: `button day-action${household.visited_today ? "" : " button-primary"}`,
            href: `#/checkin?household=${household.household_id}`,
          },
          household.visited_today ? "再次服务" : "开始服务",
        ),
  );
}

function showList(list, summary, households) {
  const done = households.filter((household) => household.visited_today).length;
  summary.textContent = households.length ? `今日已服务 ${done} / ${households.length} 户` : "";
  fill(
    list,
    households.length === 0
      ? notice("info", "目前没有分配给您的服务对象。如有疑问请联系机构负责人。")
      : h("ol", { class: "day-households", "aria-label": "今日服务对象" }, households.map(householdRow)),
  );
}

export async function workerDayPage(root, { account, setTitle }) {
  setTitle("今日服务");
  // Fetched while there is signal: scanning and checking out must work without.
  loadDecoder().catch(() => {});
  vocabulary().catch(() => {});
  const summary = h("span", { class: "day-summary" });
  const freshness = h("p", { class: "day-freshness", role: "status" });
  const list = h("div", { class: "day-list" }, h("p", { class: "loading" }, "正在加载…"));
  fill(
    root,
    h(
      "div",
      { class: "greeting" },
      h("h1", { tabindex: "-1" }, `您好，${account.display_name}`),
      h("p", { class: "greeting-role" }, h("span", { class: "badge" }, account.role_label), account.organisation_name && h("span", {}, account.organisation_name)),
    ),
    h("a", { class: "button button-primary button-big button-wide", href: "#/checkin" }, "扫码签到"),
    h("h2", { class: "day-title" }, h("span", {}, `今日服务 · ${formatDate(shanghaiIsoDate())}`), summary),
    freshness,
    list,
    h(
      "ul",
      { class: "tiles" },
      h("li", {}, h("a", { class: "tile", href: "#/households" }, h("span", { class: "tile-title" }, "我负责的户"), h("span", { class: "tile-hint" }, "户详情与家庭成员"))),
      h("li", {}, h("a", { class: "tile", href: "#/outbox" }, h("span", { class: "tile-title" }, "待上传记录"), h("span", { class: "tile-hint" }, "离线时保存在手机上的签到、签退和照片"))),
    ),
  );

  const visits = await myVisits(account);
  const copy = await cachedToday(account);
  if (copy) showList(list, summary, withMyVisits(copy.households, visits));
  if (!navigator.onLine) {
    freshness.className = "day-freshness notice";
    freshness.textContent = copy
      ? `当前离线：显示的是 ${formatDateTime(copy.savedAt)} 保存的清单，签到记录会保存在手机上，有网络后自动上传。`
      : "当前离线，手机上还没有保存过今日清单。请在有网络时打开一次本页面。";
    if (!copy) fill(list);
    return;
  }
  try {
    const fresh = await fetchToday(account);
    if (!root.isConnected) return;
    freshness.textContent = "";
    freshness.className = "day-freshness";
    showList(list, summary, withMyVisits(fresh.households, await myVisits(account)));
  } catch (error) {
    if (!root.isConnected) return;
    freshness.className = "day-freshness notice";
    freshness.textContent = copy
      ? `暂时连不上服务器（${error.message}）。显示的是 ${formatDateTime(copy.savedAt)} 保存的清单。`
      : error.message;
    if (!copy) fill(list, notice("error", error.message));
  }
}
