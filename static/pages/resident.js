// At the bedside: scan a resident's wristband (live camera, a still photo, or the phone's camera
// app opening the card's address), then the resident's day — doses to give, a quick record,
// incidents — and the printable monthly summary.

import { ApiError, api } from "../api.js";
import { field, maskName, newId, residentVocabulary, select } from "../care.js";
import { fill, formatDateTime, formatTime, h, notice } from "../dom.js";
import { cardToken, readPhoto, scanCamera } from "../qr.js";

// --- 扫腕带 ---------------------------------------------------------------------------------------

export async function residentScanPage(root, { params, navigate, setTitle }) {
  setTitle("扫腕带");
  let stopCamera = null;
  const message = h("div", { class: "scan-message", "aria-live": "polite" });
  const video = h("video", { class: "scan-video", playsinline: true, muted: true, hidden: true, "aria-label": "摄像头画面" });
  const cameraButton = h("button", { type: "button", class: "button button-primary button-big" }, "打开摄像头扫码");
  const stillInput = h("input", { id: "wristband-photo", type: "file", accept: "image/*", capture: "environment" });
  fill(
    root,
    h("a", { class: "back", href: "#/" }, "‹ 首页"),
    h("h1", { tabindex: "-1" }, "扫腕带"),
    h(
      "section",
      { class: "card" },
      h("p", { class: "muted" }, "扫描住院人员腕带或床头卡上的二维码，打开其今日照护记录。"),
      h("div", { class: "scan-frame" }, video),
      message,
      h(
        "div",
        { class: "scan-actions" },
        cameraButton,
        h("div", { class: "file-picker" }, stillInput, h("label", { class: "button button-big", for: "wristband-photo" }, "拍照识别")),
      ),
    ),
  );

  function stopScanning() {
    if (stopCamera) stopCamera();
    stopCamera = null;
    video.hidden = true;
    cameraButton.textContent = "打开摄像头扫码";
  }

  async function scanned(text) {
    stopScanning();
    const token = cardToken(text);
    fill(message, h("p", { class: "loading" }, "正在核验腕带…"));
    let check;
    try {
      check = await api.get(`/api/cards/resident-check?token=${encodeURIComponent(token)}`, { timeout: 15_000 });
    } catch (error) {
      if (root.isConnected) fill(message, notice("error", error.message));
      return;
    }
    if (!root.isConnected) return;
    if (!check.ok) {
      fill(message, notice("error", `此腕带无法使用：${check.message}`, h("br"), "如腕带已补发，请扫描新腕带；无法扫描时请联系护士长补发。"));
      return;
    }
    navigate(`/residents/${check.resident_id}`);
  }

  cameraButton.addEventListener("click", async () => {
    if (stopCamera) {
      stopScanning();
      return;
    }
    fill(message, h("p", { class: "loading" }, "正在打开摄像头…"));
    video.hidden = false;
    try {
      stopCamera = await scanCamera(video, scanned);
      cameraButton.textContent = "关闭摄像头";
      fill(message, h("p", { class: "muted" }, "请将腕带上的二维码放在画面中央。"));
    } catch (error) {
      video.hidden = true;
      fill(message, notice("error", error.message));
    }
  });

  stillInput.addEventListener("change", async () => {
    const [file] = stillInput.files;
    stillInput.value = "";
    if (!file) return;
    stopScanning();
    fill(message, h("p", { class: "loading" }, "正在识别照片中的二维码…"));
    let text = null;
    try {
      text = await readPhoto(file);
    } catch (error) {
      fill(message, notice("error", error.message || "照片无法读取，请重新拍摄。"));
      return;
    }
    if (!text) {
      fill(message, notice("error", "照片中没有识别到二维码。请靠近腕带、对准二维码重新拍摄。"));
      return;
    }
    scanned(text);
  });

  const fromLink = params.get("card");
  if (fromLink) scanned(fromLink);
}

// --- the resident's page -------------------------------------------------------------------------

const DOSE_BUTTONS = [
  ["given", "给药", "button-primary"],
  ["refused", "拒服", "button-warn"],
  ["held", "暂停", ""],
  ["missed", "漏服", "button-danger"],
];

function errorText(error, fieldName) {
  return (error instanceof ApiError && error.fieldMessage(fieldName)) || error.message;
}

export async function residentPage(root, { match, setTitle }) {
  const residentId = Number(match[1]);
  const incidentId = match[2] || null;
  setTitle("住院人员");
  let words;
  let resident;
  try {
    [words, resident] = await Promise.all([residentVocabulary(), api.get(`/api/residents/${residentId}`)]);
  } catch (error) {
    fill(root, h("a", { class: "back", href: "#/" }, "‹ 首页"), h("h1", { tabindex: "-1" }, "住院人员"), notice("error", error.message));
    return;
  }
  const status = h("div", { class: "form-message", "aria-live": "polite" });

  async function reload(...message) {
    try {
      resident = await api.get(`/api/residents/${residentId}`);
    } catch (error) {
      fill(status, notice("error", error.message));
      return;
    }
    if (!root.isConnected) return;
    render();
    fill(status, ...message);
    if (message.length) status.scrollIntoView({ block: "nearest" });
  }

  function render() {
    setTitle(`${maskName(resident.name)} · ${resident.ward}`);
    fill(
      root,
      h("a", { class: "back", href: "#/" }, "‹ 首页"),
      h(
        "div",
        { class: "resident-head" },
        h("h1", { tabindex: "-1" }, maskName(resident.name)),
        h(
          "p",
          { class: "resident-place" },
          h("span", { class: "badge" }, resident.ward),
          h("span", { class: "badge" }, resident.bed),
          h("span", { class: "muted" }, `${resident.gender_label} · ${resident.age} 岁 · ${resident.care_level_label}`),
        ),
        !resident.present && notice("info", `已于 ${resident.discharged_on} 出院。`),
        resident.alerts.length > 0 &&
          h("ul", { class: "alerts", "aria-label": "提醒" }, resident.alerts.map((a) => h("li", { class: `alert alert-${a.code}` }, a.label))),
      ),
      status,
      dosesSection(),
      recordSection(),
      incidentSection(),
      h(
        "p",
        { class: "resident-links" },
        h(
          "a",
          { class: "button button-wide", href: `/api/residents/${residentId}/summary/print`, target: "_blank", rel: "noopener" },
          "月度照护小结（打印）",
        ),
      ),
    );
    if (incidentId) root.querySelector(`[data-incident="${incidentId}"]`)?.scrollIntoView({ block: "center" });
  }

  function dosesSection() {
    const doses = resident.doses_today;
    return h(
      "section",
      { class: "card", "aria-labelledby": "doses-title" },
      h("h2", { id: "doses-title" }, "今日给药"),
      doses.length === 0 ? h("p", { class: "muted" }, "今日没有给药计划。") : h("ul", { class: "doses" }, doses.map(doseItem)),
    );
  }

  function doseItem(dose) {
    const when = formatTime(dose.scheduled_for);
    const head = h(
      "p",
      { class: "dose-head" },
      h("span", { class: "dose-time" }, when),
      h("span", { class: "dose-drug" }, `${dose.drug} ${dose.dose}`),
      h("span", { class: "muted" }, dose.route_label),
    );
    if (dose.outcome) {
      return h(
        "li",
        { class: `dose dose-done dose-${dose.outcome}` },
        head,
        h(
          "p",
          { class: "dose-result" },
          h("span", { class: "badge" }, dose.outcome_label),
          ` ${dose.recorded_by_name} ${dose.recorded_at ? formatTime(dose.recorded_at) : ""}`,
          dose.reason && ` · ${dose.reason}`,
        ),
      );
    }
    const item = h("li", { class: `dose${dose.overdue ? " dose-overdue" : ""}` }, head);
    if (dose.overdue) item.append(h("p", { class: "dose-late" }, "已逾期"));
    if (!resident.can_write) return item;
    const reasonId = `dose-reason-${dose.order_id}-${new Date(dose.scheduled_for).getTime()}`;
    const reason = h("input", { id: reasonId, name: "reason", maxlength: "200", autocomplete: "off" });
    const error = h("p", { class: "field-error", role: "alert" });
    const buttons = DOSE_BUTTONS.map(([outcome, label, style]) =>
      h(
        "button",
        {
          type: "button",
          class: `button ${style}`,
          "aria-label": `${when} ${dose.drug} ${label}`,
          on: { click: () => record(outcome, label) },
        },
        label,
      ),
    );
    async function record(outcome, label) {
      error.textContent = "";
      for (const b of buttons) b.disabled = true;
      try {
        await api.post("/api/doses", {
          json: { order_id: dose.order_id, scheduled_for: dose.scheduled_for, outcome, reason: reason.value.trim() },
        });
        await reload(notice("success", `已记录：${when} ${dose.drug} ${label}。`));
      } catch (e) {
        error.textContent = errorText(e, "reason");
        for (const b of buttons) b.disabled = false;
        if (e.fieldMessage && e.fieldMessage("reason")) reason.focus();
      }
    }
    item.append(
      h("label", { class: "field dose-reason", for: reasonId }, h("span", { class: "field-label" }, "未服药原因（拒服、暂停、漏服时必填）"), reason),
      error,
      h("div", { class: "dose-actions" }, buttons),
    );
    return item;
  }

  function recordSection() {
    const recent = resident.recent_records;
    const list =
      recent.length === 0
        ? h("p", { class: "muted" }, "最近 24 小时没有记录。")
        : h(
            "ul",
            { class: "care-records" },
            recent.map((r) =>
              h(
                "li",
                { class: "care-record" },
                h("span", { class: "dose-time" }, formatTime(r.performed_at)),
                ` ${r.kind_label} · ${r.activity}`,
                r.observation_label && ` · ${r.observation_label}`,
                r.concern && h("span", { class: "badge badge-concern" }, "需关注"),
                h("span", { class: "muted" }, ` ${r.recorded_by_name}`),
              ),
            ),
          );
    return h(
      "section",
      { class: "card", "aria-labelledby": "records-title" },
      h("h2", { id: "records-title" }, "照护记录"),
      list,
      resident.can_write && recordForm(),
    );
  }

  function recordForm() {
    const kind = select("kind", words.care_kinds.map((k) => [k.code, k.label]));
    const activity = h("select", { name: "activity" });
    const observation = h("select", { name: "observation" });
    const details = h("textarea", { name: "details", rows: "2", maxlength: "2000" });
    const concern = h("input", { type: "checkbox", name: "concern" });
    const kindField = field("记录类别", kind);
    const activityField = field("项目", activity);
    const observationField = field("评估", observation);
    const detailsField = field("详细情况", details);
    const message = h("div", { class: "form-message" });
    const submit = h("button", { type: "submit", class: "button button-primary button-wide" }, "保存记录");
    let id = newId();
    let at = null; // the time of the first attempt, kept with the id until saved: a resubmission is the same record
    function kindChanged() {
      fill(activity, (words.activities[kind.value] || []).map((a) => h("option", { value: a }, a)));
      const levels = words.observations[kind.value];
      observationField.element.hidden = !levels;
      fill(observation, h("option", { value: "" }, "请选择"), (levels || []).map((o) => h("option", { value: o.code }, o.label)));
    }
    kind.addEventListener("change", kindChanged);
    kindChanged();
    const form = h(
      "form",
      { class: "form record-form", novalidate: true },
      h("h3", {}, "快速记录"),
      kindField.element,
      activityField.element,
      observationField.element,
      detailsField.element,
      h("label", { class: "choice" }, concern, h("span", {}, "需关注（交班时提示）")),
      message,
      submit,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      for (const f of [kindField, activityField, observationField, detailsField]) f.error.textContent = "";
      fill(message);
      submit.disabled = true;
      at = at || new Date().toISOString();
      try {
        await api.post(`/api/residents/${residentId}/records`, {
          json: {
            id,
            kind: kind.value,
            activity: activity.value,
            observation: words.observations[kind.value] ? observation.value : "",
            details: details.value.trim(),
            concern: concern.checked,
            performed_at: at,
          },
        });
        id = newId();
        at = null;
        await reload(notice("success", `已保存记录：${activity.value}。`));
      } catch (e) {
        if (e instanceof ApiError && e.fields.length) {
          observationField.error.textContent = e.fieldMessage("observation");
          activityField.error.textContent = e.fieldMessage("activity");
          detailsField.error.textContent = e.fieldMessage("details");
        }
        fill(message, notice("error", e.message));
        submit.disabled = false;
      }
    });
    return form;
  }

  function incidentSection() {
    const incidents = resident.recent_incidents;
    return h(
      "section",
      { class: "card", "aria-labelledby": "incidents-title" },
      h("h2", { id: "incidents-title" }, "事件（近 30 天）"),
      incidents.length === 0
        ? h("p", { class: "muted" }, "近 30 天没有事件。")
        : h(
            "ul",
            { class: "incidents" },
            incidents.map((i) =>
              h(
                "li",
                { class: `incident incident-${i.severity}${i.id === incidentId ? " incident-target" : ""}`, "data-incident": i.id },
                h(
                  "p",
                  { class: "incident-head" },
                  h("span", { class: `badge severity-${i.severity}` }, i.severity_label),
                  ` ${i.kind_label} · ${formatDateTime(i.occurred_at)}`,
                ),
                h("p", {}, i.description),
                i.actions && h("p", { class: "muted" }, `处置：${i.actions}`),
                h("p", { class: "muted" }, `${i.reported_by_name}上报${i.auditor_notified ? " · 已通知县区审核员" : ""}`),
              ),
            ),
          ),
      resident.can_write && incidentForm(),
    );
  }

  function incidentForm() {
    const kind = select("kind", words.incident_kinds.map((k) => [k.code, k.label]), { placeholder: "请选择" });
    const severity = select("severity", words.severities.map((k) => [k.code, k.label]), { placeholder: "请选择" });
    const description = h("textarea", { name: "description", rows: "3", maxlength: "2000" });
    const actions = h("textarea", { name: "actions", rows: "2", maxlength: "2000" });
    const fields = {
      kind: field("事件类别", kind),
      severity: field("严重程度", severity),
      description: field("经过", description),
      actions: field("已采取的处置（可不填）", actions),
    };
    const message = h("div", { class: "form-message" });
    const submit = h("button", { type: "submit", class: "button button-danger button-wide" }, "提交事件报告");
    let id = newId();
    let at = null; // the time of the first attempt, kept with the id until saved
    const form = h(
      "form",
      { class: "form incident-form", novalidate: true },
      h("h3", {}, "报告事件"),
      Object.values(fields).map((f) => f.element),
      h("p", { class: "muted" }, "严重事件将同时通知县区民政局审核员。事件提交后不能修改或删除。"),
      message,
      submit,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      for (const f of Object.values(fields)) f.error.textContent = "";
      fill(message);
      if (!kind.value) fields.kind.error.textContent = "请选择事件类别";
      if (!severity.value) fields.severity.error.textContent = "请选择严重程度";
      if (description.value.trim().length < 2) fields.description.error.textContent = "请填写事件经过";
      if (!kind.value || !severity.value || description.value.trim().length < 2) return;
      submit.disabled = true;
      at = at || new Date().toISOString();
      try {
        const out = await api.post("/api/incidents", {
          json: {
            id,
            resident_id: residentId,
            kind: kind.value,
            severity: severity.value,
            occurred_at: at,
            description: description.value.trim(),
            actions: actions.value.trim(),
          },
        });
        id = newId();
        at = null;
        await reload(
          notice("success", `事件已上报：${out.kind_label}（${out.severity_label}）。`, out.auditor_notified ? "已通知县区审核员。" : ""),
        );
      } catch (e) {
        if (e instanceof ApiError) for (const [name, f] of Object.entries(fields)) f.error.textContent = e.fieldMessage(name);
        fill(message, notice("error", e.message));
        submit.disabled = false;
      }
    });
    return form;
  }

  render();
}
