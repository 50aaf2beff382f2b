// The care home's shift: the facility at a glance (the staff home page), the ward round that
// records one activity for a whole ward, and the handover at the end of a shift.

import { ApiError, api } from "../api.js";
import { field, maskName, newId, pickFacility, residentVocabulary, select } from "../care.js";
import { fill, formatDateTime, formatTime, h, notice } from "../dom.js";

function backHome() {
  return h("a", { class: "back", href: "#/" }, "‹ 首页");
}

// --- the staff home page: each ward at a glance --------------------------------------------------

function count(value, label, alarm) {
  return h("div", { class: `ward-count${alarm && value > 0 ? " ward-count-alarm" : ""}` }, h("strong", {}, String(value)), h("span", {}, label));
}

/** The facility overview and the shift's big buttons ([address, title]), for the care home staff's home page. */
export function careHomeSection(actions) {
  const body = h("div", { class: "care-home" }, h("p", { class: "loading" }, "正在加载本机构概览…"));
  (async () => {
    let facility;
    let overview;
    try {
      ({ facility } = await pickFacility());
      if (!facility) {
        fill(body, notice("info", "您所在的机构暂无住院人员。"));
        return;
      }
      overview = await api.get(`/api/facilities/${facility.id}/overview`);
    } catch (error) {
      fill(body, notice("error", error.message));
      return;
    }
    const q = `facility=${facility.id}`;
    fill(
      body,
      h(
        "div",
        { class: "shift-actions" },
        actions.map(([href, title], i) =>
          h("a", { class: `button button-big${i === 0 ? " button-primary" : ""}`, href: href.startsWith("#/wards/") ? `${href}?${q}` : href }, title),
        ),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "overview-title" },
        h("h2", { id: "overview-title" }, overview.facility.name),
        h("p", { class: "muted" }, `在院 ${overview.facility.present} 人 · 截至 ${formatTime(overview.as_of)}`),
        h(
          "ul",
          { class: "wards" },
          overview.wards.map((w) =>
            h(
              "li",
              { class: "ward" },
              h("p", { class: "ward-name" }, h("strong", {}, w.ward), h("span", { class: "muted" }, ` 在院 ${w.present} 人`)),
              h(
                "div",
                { class: "ward-counts" },
                count(w.doses_due, "待给药", false),
                count(w.doses_overdue, "逾期", true),
                count(w.incidents_24h, "事件", true),
                count(w.concerns_24h, "需关注", true),
              ),
              h(
                "p",
                { class: "ward-links" },
                h("a", { class: "link", href: `#/wards/round?${q}&ward=${encodeURIComponent(w.ward)}` }, "查房"),
                h("a", { class: "link", href: `#/wards/handover?${q}&ward=${encodeURIComponent(w.ward)}` }, "交班"),
              ),
            ),
          ),
        ),
      ),
      overview.serious_incidents_7d.length > 0 &&
        h(
          "section",
          { class: "card" },
          h("h2", {}, "近 7 天严重事件"),
          h(
            "ul",
            { class: "plain-list" },
            overview.serious_incidents_7d.map((i) =>
              h(
                "li",
                {},
                h("a", { class: "link", href: `#/residents/${i.resident_id}/incidents/${i.id}` }, `${i.kind_label}：${maskName(i.name)}（${i.bed}）`),
                h("span", { class: "muted" }, ` ${formatDateTime(i.occurred_at)}`),
              ),
            ),
          ),
        ),
      overview.reviews_overdue.length > 0 &&
        h(
          "section",
          { class: "card" },
          h("h2", {}, `护理计划评估逾期（${overview.reviews_overdue.length}）`),
          h(
            "ul",
            { class: "plain-list" },
            overview.reviews_overdue.map((r) =>
              h(
                "li",
                {},
                h("a", { class: "link", href: `#/residents/${r.resident_id}` }, `${maskName(r.name)}（${r.ward} ${r.bed}）`),
                h("span", { class: "muted" }, ` ${r.kind_label} 逾期 ${r.days_overdue} 天`),
              ),
            ),
          ),
        ),
    );
  })();
  return body;
}

// --- choosing the ward ----------------------------------------------------------------------------

async function wardChooser(root, { params, navigate, setTitle }, title, path) {
  setTitle(title);
  let facility;
  try {
    ({ facility } = await pickFacility(params.get("facility")));
  } catch (error) {
    fill(root, backHome(), h("h1", { tabindex: "-1" }, title), notice("error", error.message));
    return null;
  }
  if (!facility) {
    fill(root, backHome(), h("h1", { tabindex: "-1" }, title), notice("info", "您所在的机构暂无住院人员。"));
    return null;
  }
  const ward = params.get("ward") || "";
  const chooser = select("ward", facility.wards.map((w) => [w, w]), { placeholder: "请选择病区" });
  chooser.value = facility.wards.includes(ward) ? ward : "";
  chooser.addEventListener("change", () => {
    navigate(`${path}?facility=${facility.id}${chooser.value ? `&ward=${encodeURIComponent(chooser.value)}` : ""}`);
  });
  const body = h("div", { class: "ward-body" });
  fill(root, backHome(), h("h1", { tabindex: "-1" }, title), h("p", { class: "muted" }, facility.name), field("病区", chooser).element, body);
  return { facility, ward: chooser.value, body };
}

// --- 病区查房 ---------------------------------------------------------------------------------------

export async function wardRoundPage(root, context) {
  const chosen = await wardChooser(root, context, "病区查房", "/wards/round");
  if (!chosen || !chosen.ward) return;
  const { facility, ward, body } = chosen;
  fill(body, h("p", { class: "loading" }, "正在加载本病区住院人员…"));
  let words;
  let residents;
  try {
    [words, residents] = await Promise.all([
      residentVocabulary(),
      api.get(`/api/facilities/${facility.id}/residents?ward=${encodeURIComponent(ward)}`),
    ]);
  } catch (error) {
    fill(body, notice("error", error.message));
    return;
  }
  if (residents.length === 0) {
    fill(body, notice("info", "本病区没有在院人员。"));
    return;
  }
  const boxes = residents.map((r) => h("input", { type: "checkbox", name: "resident", value: String(r.id), checked: true }));
  const kind = select("kind", words.care_kinds.map((k) => [k.code, k.label]));
  const activity = h("select", { name: "activity" });
  const observation = h("select", { name: "observation" });
  const details = h("textarea", { name: "details", rows: "2", maxlength: "2000" });
  const kindField = field("记录类别", kind);
  const activityField = field("项目", activity);
  const observationField = field("评估（所选人员相同）", observation);
  const detailsField = field("详细情况", details);
  const residentsError = h("p", { class: "field-error" });
  const message = h("div", { class: "form-message", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button button-primary button-big button-wide" }, "保存查房记录");
  // One id per round filled in: pressing again after a lost answer saves it once.
  let roundId = newId();
  let roundAt = null; // the time of the first press, kept with the id: a resubmission is the same round
  function renew() {
    roundId = newId();
    roundAt = null;
  }
  function kindChanged() {
    fill(activity, (words.activities[kind.value] || []).map((a) => h("option", { value: a }, a)));
    const levels = words.observations[kind.value];
    observationField.element.hidden = !levels;
    fill(observation, h("option", { value: "" }, "请选择"), (levels || []).map((o) => h("option", { value: o.code }, o.label)));
  }
  kind.addEventListener("change", () => {
    renew();
    kindChanged();
  });
  kindChanged();
  const form = h(
    "form",
    { class: "form", novalidate: true },
    h(
      "fieldset",
      { class: "choices" },
      h("legend", { class: "field-label" }, `住院人员（${residents.length} 人，未在场的请取消勾选）`),
      residents.map((r, i) =>
        h(
          "label",
          { class: "choice" },
          boxes[i],
          h("span", {}, h("strong", {}, r.bed), ` ${maskName(r.name)}`, r.alerts.length > 0 && h("span", { class: "muted" }, ` · ${r.alerts.map((a) => a.label).join("、")}`)),
        ),
      ),
    ),
    residentsError,
    kindField.element,
    activityField.element,
    observationField.element,
    detailsField.element,
    message,
    submit,
  );
  form.addEventListener("change", (event) => {
    if (event.target !== kind) renew(); // a changed round is a new round
  });
  form.addEventListener("input", (event) => {
    if (event.target === details) renew();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const f of [activityField, observationField, detailsField]) f.error.textContent = "";
    residentsError.textContent = "";
    fill(message);
    const ids = boxes.filter((b) => b.checked).map((b) => Number(b.value));
    if (ids.length === 0) {
      residentsError.textContent = "请至少选择一名住院人员。";
      return;
    }
    submit.disabled = true;
    roundAt = roundAt || new Date().toISOString();
    try {
      const out = await api.post(`/api/facilities/${facility.id}/ward-rounds`, {
        json: {
          id: roundId,
          ward,
          kind: kind.value,
          activity: activity.value,
          observation: words.observations[kind.value] ? observation.value : "",
          details: details.value.trim(),
          performed_at: roundAt,
          resident_ids: ids,
        },
      });
      fill(
        message,
        notice("success", `已保存查房记录：${out.kind_label} · ${out.activity}，共 ${out.record_ids.length} 人（${formatTime(out.performed_at)}）。`),
      );
    } catch (e) {
      if (e instanceof ApiError) {
        observationField.error.textContent = e.fieldMessage("observation");
        activityField.error.textContent = e.fieldMessage("activity");
        detailsField.error.textContent = e.fieldMessage("details");
      }
      fill(message, notice("error", e.message));
    }
    submit.disabled = false;
  });
  fill(body, form);
}

// --- 交班 -------------------------------------------------------------------------------------------

function briefList(title, items, line) {
  return h(
    "div",
    { class: "handover-part" },
    h("h3", {}, `${title}（${items.length}）`),
    items.length === 0 ? h("p", { class: "muted" }, "无") : h("ul", { class: "plain-list" }, items.map((x) => h("li", {}, line(x)))),
  );
}

function handoverSummary(out, kindLabels) {
  const s = out.summary;
  const who = (x) => `${x.bed} ${maskName(x.name)}`;
  const records = Object.entries(s.records_by_kind);
  return h(
    "div",
    { class: "handover" },
    h("p", { class: "muted" }, `${formatDateTime(s.period_start)} 至 ${formatDateTime(s.period_end)} · 在院 ${s.residents_present} 人`),
    briefList("事件", s.incidents, (i) => `${who(i)}：${i.kind_label}（${i.severity_label}）${formatTime(i.occurred_at)}`),
    briefList("逾期未给药", s.doses_overdue, (d) => `${who(d)}：${formatTime(d.scheduled_for)}`),
    briefList("未服药", s.doses_not_given, (d) => `${who(d)}：${formatTime(d.scheduled_for)} ${d.outcome_label}`),
    briefList("需关注", s.attention, (a) => `${who(a)}：${a.reasons.join("、")}`),
    briefList("入院", s.admissions, who),
    briefList("出院", s.discharges, who),
    h(
      "div",
      { class: "handover-part" },
      h("h3", {}, "本班记录"),
      records.length === 0
        ? h("p", { class: "muted" }, "无")
        : h("p", {}, records.map(([k, n]) => `${kindLabels[k] || k} ${n} 条`).join("，")),
    ),
  );
}

export async function handoverPage(root, context) {
  const chosen = await wardChooser(root, context, "交班", "/wards/handover");
  if (!chosen || !chosen.ward) return;
  const { facility, ward, body } = chosen;
  fill(body, h("p", { class: "loading" }, "正在生成交班预览…"));
  let preview;
  let words;
  try {
    [words, preview] = await Promise.all([
      residentVocabulary(),
      api.get(`/api/facilities/${facility.id}/handovers/preview?ward=${encodeURIComponent(ward)}`),
    ]);
  } catch (error) {
    fill(body, notice("error", error.message));
    return;
  }
  const kindLabels = Object.fromEntries(words.care_kinds.map((k) => [k.code, k.label]));
  const note = h("textarea", { name: "note", rows: "3", maxlength: "2000" });
  const noteField = field("交班说明（可不填）", note);
  const message = h("div", { class: "form-message", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button button-primary button-big button-wide" }, "确认交班");
  const form = h("form", { class: "form", novalidate: true }, noteField.element, message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    fill(message);
    try {
      const out = await api.post(`/api/facilities/${facility.id}/handovers`, { json: { ward, note: note.value.trim() } });
      fill(
        body,
        notice("success", `已交班：${out.ward}，${out.created_by_name} ${formatDateTime(out.created_at)}。`),
        h("section", { class: "card" }, h("h2", {}, "交班小结"), handoverSummary(out, kindLabels), out.note && h("p", {}, `说明：${out.note}`)),
        h("a", { class: "button button-wide", href: "#/" }, "返回首页"),
      );
    } catch (e) {
      noteField.error.textContent = e instanceof ApiError ? e.fieldMessage("note") : "";
      fill(message, notice("error", e.message));
      submit.disabled = false;
    }
  });
  fill(body, h("section", { class: "card" }, h("h2", {}, "交班预览"), handoverSummary(preview, kindLabels)), form);
}
