// What is still on the phone: each waiting or refused upload, in the order it will be sent,
// with the server's reason for a refusal and the worker's choice to retry or give it up.

import { fill, formatDateTime, h, notice } from "../dom.js";
import { myVisits } from "../fieldwork.js";
import { KIND_LABELS, discardItem, flush, outboxItems, retryItem, watchOutbox } from "../outbox.js";
import { isFieldWorker } from "../roles.js";

const DISCARD_WARNINGS = {
  photo: "放弃后这张照片不会上传，签到 / 签退记录将不含这张照片。",
  checkin: "放弃后这次服务（签到、签退和照片）都不会上传，且无法恢复。",
  checkout: "放弃后这次签退不会上传，服务将一直显示为未签退。",
};

function itemRow(item, visit, redraw) {
  const actions = h("div", { class: "actions" });
  const row = h(
    "li",
    { class: `outbox-item outbox-${item.state}${item.held ? " outbox-held" : ""}` },
    h(
      "p",
      { class: "outbox-what" },
      h("strong", {}, item.label || KIND_LABELS[item.kind]),
      visit && h("span", {}, ` · ${visit.household.names.join("、")}`),
    ),
    h("p", { class: "muted" }, `记录于 ${formatDateTime(item.created_at)}`),
    item.state === "failed"
      ? notice("error", `上传失败：${item.error ? item.error.message : "未知原因"}`)
      : h("p", { class: "outbox-state" }, item.held ? "等待前一项处理后上传" : "等待上传"),
    actions,
  );
  if (item.state === "failed") {
    const confirmBox = h("div", { class: "confirm", role: "alertdialog", "aria-label": "确认放弃", hidden: true });
    fill(
      actions,
      h("button", { type: "button", class: "button button-primary", on: { click: () => retryItem(item.seq).then(redraw) } }, "重试"),
      h("button", { type: "button", class: "button", on: { click: () => (confirmBox.hidden = false) } }, "放弃此项"),
    );
    fill(
      confirmBox,
      h("p", { class: "confirm-title" }, "确定放弃？"),
      h("p", {}, DISCARD_WARNINGS[item.kind] || ""),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "button button-danger", on: { click: () => discardItem(item.seq).then(redraw) } }, "确定放弃"),
        h("button", { type: "button", class: "button", on: { click: () => (confirmBox.hidden = true) } }, "取消"),
      ),
    );
    row.append(confirmBox);
  }
  return row;
}

export async function outboxPage(root, { account, setTitle }) {
  setTitle("待上传记录");
  const list = h("div", { class: "outbox" }, h("p", { class: "loading" }, "正在加载…"));
  const sendNow = h("button", { type: "button", class: "button button-primary button-wide", on: { click: () => flush() } }, "立即上传");
  fill(
    root,
    h("a", { class: "back", href: "#/" }, "‹ 今日服务"),
    h("h1", { tabindex: "-1" }, "待上传记录"),
    h("p", { class: "muted" }, "没有网络时，签到、签退和照片先保存在手机上，有网络后按顺序自动上传。上传完成前请不要清除浏览器数据。"),
    list,
    sendNow,
  );
  if (!isFieldWorker(account)) {
    fill(list, notice("info", "只有社工 / 护理员的手机会保存待上传记录。"));
    sendNow.hidden = true;
    return;
  }

  async function redraw() {
    if (!root.isConnected) return;
    const [items, visits] = await Promise.all([outboxItems(), myVisits(account)]);
    const byId = new Map(visits.map((visit) => [visit.id, visit]));
    sendNow.hidden = items.length === 0;
    fill(
      list,
      items.length === 0
        ? notice("success", "全部已上传，手机上没有待上传的记录。")
        : h("ol", { class: "outbox-items" }, items.map((item) => itemRow(item, byId.get(item.visit_id), redraw))),
    );
  }
  let stop = () => {};
  stop = watchOutbox(() => {
    if (!root.isConnected) stop();
    else redraw();
  });
}
