// The first page after login: who you are, and what your role can do here.

import { api } from "../api.js";
import { fill, h, notice } from "../dom.js";
import { notificationPanel } from "../notifications.js";
import {
  agreementTiles,
  careHomeActions,
  caresForHouseholds,
  householdListTitle,
  isBureau,
  isFieldWorker,
  managesProvider,
  oversightTiles,
  programmeTiles,
  samplingTiles,
  seesHouseholds,
  seesNotifications,
  worksInCareHome,
} from "../roles.js";
import { careHomeSection } from "./care-home.js";
import { workerDayPage } from "./worker-day.js";

function tile(href, title, hint, extra) {
  return h(
    "li",
    {},
    h("a", { class: "tile", href }, h("span", { class: "tile-title" }, title), h("span", { class: "tile-hint" }, hint), extra),
  );
}

export async function homePage(root, context) {
  const { account, setTitle } = context;
  if (isFieldWorker(account)) return workerDayPage(root, context); // the phone app's own home
  setTitle("首页");
  const count = h("span", { class: "tile-count" });
  const awaiting = h("span", { class: "tile-count" });
  const tiles = [];
  if (isBureau(account)) {
    tiles.push(
      tile("#/households", householdListTitle(account), "按姓名、村（社区）或户编号查找，查看户详情", count),
      tile("#/visits", "服务记录", "上门服务的时间、照片和疑点（只读）"),
      tile("#/cards", "门牌卡打印", "按村（社区）或乡镇（街道）生成门牌卡打印页"),
      tile("#/import", "CSV 导入", "按模板批量登记分散供养户"),
    );
  } else if (managesProvider(account)) {
    tiles.push(
      tile("#/review", "待审核", "手工录入和扫码未通过的服务记录", awaiting),
      tile("#/visits", "服务记录", "本机构的上门服务，可只看有疑点的记录"),
      tile("#/households", householdListTitle(account), "本机构负责的分散供养户，可改派社工", count),
      tile("#/staff", "人员", "本机构的社工 / 护理员及其负责户数"),
    );
  } else if (caresForHouseholds(account)) {
    tiles.push(tile("#/households", householdListTitle(account), "当前分配给您的分散供养户", count));
  }
  for (const [href, title, hint] of programmeTiles(account)) tiles.push(tile(href, title, hint));
  for (const [href, title, hint] of oversightTiles(account)) tiles.push(tile(href, title, hint));
  for (const [href, title, hint] of samplingTiles(account)) tiles.push(tile(href, title, hint));
  const findingCount = h("span", { class: "tile-count" });
  for (const [href, title, hint] of agreementTiles(account)) tiles.push(tile(href, title, hint, findingCount));

  fill(
    root,
    h(
      "div",
      { class: "greeting" },
      h("h1", { tabindex: "-1" }, `您好，${account.display_name}`),
      h(
        "p",
        { class: "greeting-role" },
        h("span", { class: "badge" }, account.role_label),
        account.organisation_name && h("span", {}, account.organisation_name),
      ),
      account.region_name && h("p", { class: "muted" }, `管辖范围：${account.region_name}`),
    ),
    seesNotifications(account) && notificationPanel(),
    tiles.length > 0 && h("ul", { class: "tiles" }, tiles),
    worksInCareHome(account) && careHomeSection(careHomeActions(account)),
    !seesHouseholds(account) &&
      account.role !== "care_home_staff" &&
      notice("info", "您的角色暂无可用功能。"),
  );

  if (seesHouseholds(account)) {
    try {
      const page = await api.get("/api/households?page_size=1");
      count.textContent = `共 ${page.total} 户`;
    } catch {
      count.textContent = "";
    }
  }
  if (agreementTiles(account).length > 0) {
    // What waits on this reader: the provider explains open findings, the county decides explained ones.
    const waiting = managesProvider(account) ? ["open", "待说明"] : ["explained", "待审核"];
    api
      .get(`/api/findings?state=${waiting[0]}&page_size=1`)
      .then((page) => {
        findingCount.textContent = page.total > 0 ? `${page.total} 条${waiting[1]}` : `暂无${waiting[1]}`;
      })
      .catch(() => {});
  }
  if (managesProvider(account)) {
    try {
      const page = await api.get("/api/visits?review=awaiting_approval&page_size=1");
      awaiting.textContent = page.total > 0 ? `${page.total} 条待审核` : "暂无待审核";
    } catch {
      awaiting.textContent = "";
    }
  }
}
