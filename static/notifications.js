// The caller's unread notifications (a serious incident in a care home, or any other kind), on
// the home page: each with its link, marked as read with one tap.

import { api } from "./api.js";
import { fill, formatDateTime, h, notice } from "./dom.js";

const SEVERITY_LABELS = { serious: "严重", warning: "注意", info: "通知" };

/** A 通知 panel that loads itself; empty of items it says so. */
export function notificationPanel() {
  const title = h("h2", { id: "notifications-title" }, "通知");
  const body = h("div", {}, h("p", { class: "loading" }, "正在加载通知…"));
  const panel = h("section", { class: "card notifications", "aria-labelledby": "notifications-title" }, title, body);

  async function load() {
    let page;
    try {
      page = await api.get("/api/notifications?unread_only=true&page_size=50");
    } catch (error) {
      fill(body, notice("error", error.message));
      return;
    }
    fill(title, "通知", page.unread > 0 && h("span", { class: "badge badge-unread" }, `${page.unread} 条未读`));
    if (page.items.length === 0) {
      fill(body, h("p", { class: "muted" }, "没有未读通知。"));
      return;
    }
    fill(body, h("ul", { class: "notification-list" }, page.items.map(item)));
  }

  function item(n) {
    const error = h("p", { class: "field-error" });
    const read = h("button", { type: "button", class: "button button-small" }, "标为已读");
    read.addEventListener("click", async () => {
      read.disabled = true;
      try {
        await api.post(`/api/notifications/${n.id}/read`);
        await load();
      } catch (e) {
        error.textContent = e.message;
        read.disabled = false;
      }
    });
    return h(
      "li",
      { class: `notification notification-${n.severity}` },
      h(
        "p",
        { class: "notification-title" },
        h("span", { class: `badge severity-${n.severity}` }, SEVERITY_LABELS[n.severity] || "通知"),
        " ",
        n.link ? h("a", { class: "link", href: n.link }, n.title) : n.title,
      ),
      n.body && h("p", {}, n.body),
      h("p", { class: "notification-foot" }, h("span", { class: "muted" }, formatDateTime(n.created_at)), read),
      error,
    );
  }

  load();
  return panel;
}
