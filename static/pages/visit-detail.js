// One visit as a supervisor reads it: the doubts raised (severity, message, evidence), the photos,
// the times as the phone and the server saw them, the services; and the manager's approval.

import { api } from "../api.js";
import { facts, fill, formatDateTime, h, notice } from "../dom.js";
import { isFieldWorker } from "../roles.js";

const SEVERITY_LABELS = { serious: "严重", warning: "警告", info: "提示" };
const SEVERITY_ORDER = { serious: 0, warning: 1, info: 2 };
const STAGE_LABELS = { checkin: "签到照片", checkout: "签退照片" };
const CARD_ERRORS = {
  "card.revoked": "卡片已作废",
  "card.wrong_household": "不是本户的卡片",
  "card.token_forged": "签名校验失败（疑似伪造）",
  "card.token_malformed": "二维码内容不完整",
  "card.key_retired": "卡片密钥已停用",
  "card.unknown": "卡片不存在",
  "card.wrong_kind": "卡片类型不符",
};

function visitLink(id) {
  return h("a", { class: "link", href: `#/visits/${id}` }, "查看该记录");
}

// The evidence a flag carries, in words; keys not listed here are shown as they are.
const EVIDENCE = {
  distance_m: ["距住址", (v) => `${v} 米`],
  accuracy_m: ["定位精度", (v) => (v === null ? "未知" : `${v} 米`)],
  limit_m: ["允许距离", (v) => `${v} 米`],
  minutes: ["时间", (v) => `${v} 分钟`],
  limit_minutes: ["协议要求", (v) => `${v} 分钟`],
  skew_seconds: ["时钟偏差", (v) => `${v} 秒`],
  distance_km: ["两户距离", (v) => `${v} 公里`],
  speed_kmh: ["折算速度", (v) => (v === null ? "无法计算" : `${v} 公里/小时`)],
  limit_kmh: ["速度上限", (v) => `${v} 公里/小时`],
  card_error: ["卡片核验", (v) => CARD_ERRORS[v] || v],
  reason: ["原因", (v) => v],
  captured_at: ["拍摄时间", (v) => formatDateTime(v)],
  distance_bits: ["图像差异", (v) => `${v} 位`],
  previous_visit: ["上一次服务", visitLink],
  other_visit: ["另一条记录", visitLink],
  photo: ["照片编号", (v) => h("span", { class: "code" }, String(v).slice(0, 8))],
  other_photo: ["另一张照片", (v) => h("span", { class: "code" }, String(v).slice(0, 8))],
};

function flagItem(flag, visit) {
  const pairs = Object.entries(flag.evidence || {}).map(([key, value]) => {
    if (key === "reason" && value === visit.manual_reason) return ["原因", visit.manual_reason_label];
    const [label, show] = EVIDENCE[key] || [key, (v) => (typeof v === "object" ? JSON.stringify(v) : String(v))];
    return [label, show(value)];
  });
  return h(
    "li",
    { class: `flag flag-${flag.severity}` },
    h("p", { class: "flag-message" }, h("span", { class: `badge flag-${flag.severity}` }, SEVERITY_LABELS[flag.severity] || flag.severity), ` ${flag.message}`),
    pairs.length > 0 && facts(pairs),
  );
}

function skewText(seconds) {
  if (Math.abs(seconds) <= 2) return "手机时间与服务器一致";
  // skew = server receipt − phone's sent_at: positive means the phone's clock is behind.
  return seconds > 0 ? `手机时间比服务器慢 ${seconds} 秒` : `手机时间比服务器快 ${-seconds} 秒`;
}

function photoViewer() {
  const image = h("img", { class: "viewer-image", alt: "" });
  const dialog = h(
    "dialog",
    { class: "viewer", "aria-label": "查看照片" },
    image,
    h("form", { method: "dialog" }, h("button", { type: "submit", class: "button button-wide" }, "关闭")),
  );
  dialog.addEventListener("close", () => image.removeAttribute("src"));
  return {
    dialog,
    show: (photo, label) => {
      image.src = photo.display_url;
      image.alt = label;
      if (typeof dialog.showModal === "function") dialog.showModal();
      else dialog.setAttribute("open", "");
    },
  };
}

// Why a photo shows no picture: still being processed, refused, or deleted past the retention period.
const PHOTO_MISSING = { pending: "处理中", refused: "已拒收", purged: "已过保存期" };

function photoList(photos, viewer) {
  if (photos.length === 0) return h("p", { class: "muted" }, "本次服务没有照片。");
  return h(
    "ul",
    { class: "photos" },
    photos.map((photo, index) => {
      const label = `${STAGE_LABELS[photo.stage] || "照片"} ${index + 1}`;
      let body;
      if (photo.status === "ready") {
        body = h(
          "button",
          { type: "button", class: "photo-thumb", "aria-label": `放大查看${label}`, on: { click: () => viewer.show(photo, label) } },
          h("img", { src: photo.thumb_url, alt: label, loading: "lazy" }),
        );
      } else {
        body = h("span", { class: "photo-thumb photo-missing" }, PHOTO_MISSING[photo.status] || "已拒收");
      }
      return h("li", { class: "photo" }, body, h("span", { class: "photo-caption muted" }, STAGE_LABELS[photo.stage] || "照片"));
    }),
  );
}

function reviewForm(visit, redraw) {
  const comment = h("textarea", { id: "review-comment", name: "comment", maxlength: "300", rows: "3", "aria-describedby": "review-comment-error" });
  const commentError = h("p", { class: "field-error", id: "review-comment-error" });
  const message = h("div", { class: "form-message" });
  const approve = h("button", { type: "button", class: "button button-primary" }, "通过");
  const reject = h("button", { type: "button", class: "button button-danger" }, "驳回");

  async function decide(decision) {
    commentError.textContent = "";
    fill(message);
    if (decision === "reject" && !comment.value.trim()) {
      commentError.textContent = "驳回时请填写原因。";
      comment.focus();
      return;
    }
    approve.disabled = true;
    reject.disabled = true;
    try {
      const updated = await api.post(`/api/visits/${visit.id}/review`, { json: { decision, comment: comment.value.trim() } });
      redraw(updated, decision === "approve" ? "已审核通过，记录已锁定。" : "已驳回。");
    } catch (error) {
      const forComment = error.fieldMessage("comment");
      if (forComment) commentError.textContent = forComment;
      fill(message, notice("error", error.message));
      approve.disabled = false;
      reject.disabled = false;
    }
  }
  approve.addEventListener("click", () => decide("approve"));
  reject.addEventListener("click", () => decide("reject"));
  return h(
    "section",
    { class: "card review-box", "aria-labelledby": "review-title" },
    h("h2", { id: "review-title" }, "审核"),
    h("p", {}, "请核实后决定：通过后记录锁定，驳回需填写原因。"),
    h("label", { class: "field", for: "review-comment" }, h("span", { class: "field-label" }, "审核意见（驳回时必填）"), comment),
    commentError,
    message,
    h("div", { class: "actions" }, approve, reject),
  );
}

export async function visitDetailPage(root, { account, match, params, setTitle }) {
  const visitId = match[1];
  setTitle("服务记录");
  const back = isFieldWorker(account)
    ? h("a", { class: "back", href: "#/" }, "‹ 今日服务")
    : params.get("from") === "review"
      ? h("a", { class: "back", href: "#/review" }, "‹ 待审核")
      : h("a", { class: "back", href: "#/visits" }, "‹ 服务记录");
  let visit;
  try {
    visit = await api.get(`/api/visits/${visitId}`);
  } catch (error) {
    fill(root, back, h("h1", { tabindex: "-1" }, "服务记录"), notice("error", error.message));
    return;
  }
  const viewer = photoViewer();

  function render(current, done) {
    if (done) window.scrollTo(0, 0); // the outcome is shown at the top
    const names = current.household_names.join("、") || "（无登记人员）";
    setTitle(`${names} · 服务记录`);
    const visible = current.flags.filter((flag) => flag.severity !== "info");
    const flags = [...current.flags].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
    fill(
      root,
      back,
      h(
        "header",
        { class: "page-header" },
        h("h1", { tabindex: "-1" }, names),
        h("p", { class: "muted" }, `${current.village_name} · 户编号 ${current.household_code}`),
        h(
          "p",
          { class: "visit-badges" },
          h("span", { class: "badge" }, current.status_label),
          h("span", { class: `badge review-${current.review}` }, current.review_label),
          h("span", { class: `badge ${current.presence === "qr" ? "presence-qr" : "flag-warning"}` }, current.presence_label),
        ),
      ),
      done && notice("success", done),
      current.can_review && notice("info", "此记录待审核：请查看疑点、照片和时间后，在页面底部通过或驳回。"),
      h(
        "section",
        { class: "card", "aria-labelledby": "visit-flags" },
        h("h2", { id: "visit-flags" }, `疑点（${visible.length}）`),
        current.flags.length === 0
          ? h("p", { class: "muted" }, "没有发现疑点。")
          : h("ul", { class: "flags" }, flags.map((flag) => flagItem(flag, current))),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "visit-photos" },
        h("h2", { id: "visit-photos" }, `照片（${current.photos.length}）`),
        photoList(current.photos, viewer),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "visit-times" },
        h("h2", { id: "visit-times" }, "时间"),
        facts([
          ["签到时间", `${formatDateTime(current.checkin_at)}（已按服务器时间校正）`],
          ["手机记录", formatDateTime(current.checkin_device_at)],
          ["服务器收到", formatDateTime(current.checkin_received_at)],
          ["时钟偏差", skewText(current.clock_skew_seconds)],
          ["签退时间", current.checkout_at ? formatDateTime(current.checkout_at) : "尚未签退"],
          ["服务时长", current.duration_minutes === null ? "—" : `${current.duration_minutes} 分钟`],
        ]),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "visit-service" },
        h("h2", { id: "visit-service" }, "服务情况"),
        facts([
          ["社工", `${current.worker_name}（${current.organisation_name}）`],
          ["签到方式", current.presence_label],
          current.manual_reason_label && ["无法扫码原因", current.manual_reason_label],
          current.manual_note && ["说明", current.manual_note],
          ["签到位置", current.checkin_distance_m === null ? "未获取定位" : `距住址约 ${current.checkin_distance_m} 米`],
          ["服务项目", current.services.map((s) => s.label).join("、") || "—"],
          ["服务记录", current.notes || "—"],
          current.review_comment && ["审核意见", current.review_comment],
        ].filter(Boolean)),
      ),
      current.can_review && reviewForm(current, render),
      viewer.dialog,
    );
  }
  render(visit);
}
