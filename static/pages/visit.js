// A visit under way on the worker's phone: how long it has lasted, whether it has reached the
// server yet, and the check-out (services, notes, a closing photo). Works without signal.

import { api } from "../api.js";
import { facts, fill, formatDateTime, formatElapsed, formatTime, h, notice } from "../dom.js";
import { locate, photoField } from "../evidence.js";
import { cachedToday, checkOut, myVisit, placeOf, visitFromServer, vocabulary } from "../fieldwork.js";
import { unsentFor, watchOutbox } from "../outbox.js";
import { isFieldWorker } from "../roles.js";

/** A line that follows the outbox: what of this visit is still on the phone. */
function uploadState(visitId) {
  const line = h("p", { class: "upload-state", role: "status" });
  let stop = () => {};
  stop = watchOutbox(async (status) => {
    const left = await unsentFor(visitId);
    // By now the line is on the page, unless the page has moved on: then stop following.
    if (!line.isConnected) {
      stop();
      return;
    }
    line.className = `upload-state ${left ? "upload-waiting" : "upload-done"}`;
    line.textContent = left
      ? `本次服务还有 ${left} 项保存在手机上${status.online ? "，正在上传…" : "，有网络后自动上传。"}`
      : "本次服务的记录已全部上传。";
  });
  return line;
}

function header(visit) {
  return [
    h("a", { class: "back", href: "#/" }, "‹ 今日服务"),
    h("h1", { tabindex: "-1" }, visit.household.names.join("、") || "服务记录"),
    h("p", { class: "muted" }, placeOf(visit.household)),
  ];
}

function presenceText(visit) {
  if (visit.presence === "qr") return "扫码签到";
  if (visit.presence === "manual") return `手工录入（${visit.manual_reason_label}）`;
  return visit.manual_reason_label || "扫码未通过";
}

export async function visitPage(root, { account, match, navigate, setTitle }) {
  const visitId = match[1];
  setTitle("服务中");
  if (!isFieldWorker(account)) {
    navigate(`/visits/${visitId}`); // supervisors read the record instead
    return;
  }
  let visit = await myVisit(visitId);
  if (!visit || visit.account_id !== account.account_id) {
    try {
      visit = visitFromServer(account, await api.get(`/api/visits/${visitId}`));
      const known = ((await cachedToday(account)) || { households: [] }).households.find(
        (household) => household.household_id === visit.household_id,
      );
      if (known) visit.household.address = known.address;
    } catch (error) {
      fill(
        root,
        h("h1", { tabindex: "-1" }, "服务记录"),
        notice("error", error.status === 0 ? "手机上没有这次服务的记录，请在有网络时重试。" : error.message),
        h("a", { class: "button", href: "#/" }, "返回今日服务"),
      );
      return;
    }
  }
  if (visit.status === "completed") showDone(root, visit, setTitle);
  else await showUnderway(root, visit, setTitle);
}

async function showUnderway(root, visit, setTitle) {
  setTitle("服务中");
  const started = new Date(visit.checkin_at);
  const clock = h("p", { class: "elapsed", "aria-live": "off" });
  const tick = () => {
    clock.textContent = formatElapsed((Date.now() - started.getTime()) / 1000);
  };
  tick();
  const timer = setInterval(() => {
    if (!root.isConnected) clearInterval(timer);
    else tick();
  }, 1000);

  const form = h("form", { class: "form", novalidate: true }, h("p", { class: "loading" }, "正在加载…"));
  fill(
    root,
    header(visit),
    h(
      "section",
      { class: "card underway", "aria-label": "服务进行中" },
      h("p", { class: "underway-title" }, h("span", { class: "badge badge-open" }, "服务中"), ` ${formatTime(started)} 签到（北京时间）`),
      h("p", { class: "elapsed-label muted" }, "已服务"),
      clock,
      h("p", { class: "muted" }, `签到方式：${presenceText(visit)}${visit.checkin_photos ? ` · 签到照片 ${visit.checkin_photos} 张` : ""}`),
      uploadState(visit.id),
    ),
    h("section", { class: "card", "aria-labelledby": "checkout-title" }, h("h2", { id: "checkout-title" }, "签退"), form),
  );

  let words;
  try {
    words = await vocabulary();
  } catch (error) {
    fill(form, notice("error", `服务项目加载失败：${error.message}`));
    return;
  }
  const boxes = words.services.map((service) => ({
    service,
    input: h("input", { type: "checkbox", name: "services", value: service.code }),
  }));
  const servicesError = h("p", { class: "field-error", id: "services-error" });
  const notes = h("textarea", { id: "checkout-notes", name: "notes", maxlength: "1000", rows: "4" });
  const photos = photoField({ id: "checkout-photo", title: "签退照片", label: "拍签退照片", hint: "拍一张服务完成后的照片（如打扫后的房间）。" });
  const message = h("div", { class: "form-message" });
  const submit = h("button", { type: "submit", class: "button button-primary button-big button-wide" }, "签退");
  let position = null;
  locate().then((found) => {
    position = found.position;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    servicesError.textContent = "";
    const chosen = boxes.filter((box) => box.input.checked).map((box) => box.service);
    if (chosen.length === 0) {
      servicesError.textContent = "请至少选择一项服务内容。";
      boxes[0].input.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "正在保存…";
    try {
      const done = await checkOut(visit, { services: chosen, notes: notes.value.trim(), position, photos: photos.files() });
      clearInterval(timer);
      showDone(root, done, setTitle, true);
    } catch (error) {
      fill(message, notice("error", `签退未能保存在手机上：${error.message}`));
      submit.disabled = false;
      submit.textContent = "签退";
    }
  });
  fill(
    form,
    h(
      "fieldset",
      { class: "choices", "aria-describedby": "services-error" },
      h("legend", { class: "field-label" }, "服务项目（可多选）"),
      boxes.map((box) => h("label", { class: "choice" }, box.input, h("span", {}, box.service.label))),
    ),
    servicesError,
    h("label", { class: "field", for: "checkout-notes" }, h("span", { class: "field-label" }, "服务记录"), notes),
    photos.element,
    message,
    submit,
  );
}

function showDone(root, visit, setTitle, justNow = false) {
  setTitle("服务已完成");
  const minutes = Math.max(0, Math.round((new Date(visit.checkout_at) - new Date(visit.checkin_at)) / 60000));
  fill(
    root,
    header(visit),
    justNow ? notice("success", "已签退，服务已完成。") : notice("info", "这次服务已签退。"),
    h(
      "section",
      { class: "card" },
      facts([
        ["签到", formatDateTime(visit.checkin_at)],
        ["签退", formatDateTime(visit.checkout_at)],
        ["时长", `${minutes} 分钟`],
        ["签到方式", presenceText(visit)],
        ["服务项目", (visit.services || []).join("、") || "—"],
      ]),
      uploadState(visit.id),
    ),
    h("a", { class: "button button-primary button-big button-wide", href: "#/" }, "返回今日服务"),
  );
}
