// One household: where it is, who lives there, who cares for them; the logged sensitive read;
// the address edit and the door card reissue for the region's bureau; a new worker for it,
// chosen by the provider's manager.

import { api } from "../api.js";
import { facts, fill, formatCoordinate, formatDate, formatDateTime, h, notice, shanghaiIsoDate } from "../dom.js";
import { bundleSection } from "../evidence-bundle.js";
import { issuesCards, makesEvidenceBundles, managesProvider, seesHouseholds, seesVisits } from "../roles.js";

export async function householdPage(root, { account, match, setTitle }) {
  const householdId = match[1];
  setTitle("户详情");
  let household;
  try {
    household = await api.get(`/api/households/${householdId}`);
  } catch (error) {
    fill(
      root,
      h("h1", { tabindex: "-1" }, "户详情"),
      notice("error", error.message),
      seesHouseholds(account)
        ? h("a", { class: "button", href: "#/households" }, "返回列表")
        : h("a", { class: "button", href: "#/" }, "返回首页"),
    );
    return;
  }
  render(root, household, { account, setTitle });
}

function render(root, household, page, saved = "") {
  const { account, setTitle } = page;
  const names = household.persons.map((p) => p.name).join("、") || "（无登记人员）";
  setTitle(`${names} · ${household.code}`);
  fill(
    root,
    h("a", { class: "back", href: "#/households" }, "‹ 返回列表"),
    h(
      "header",
      { class: "page-header" },
      h("h1", { tabindex: "-1" }, names),
      h("p", { class: "household-code-line" }, "户编号 ", h("span", { class: "code" }, household.code)),
    ),
    saved && notice("success", saved),
    h(
      "section",
      { class: "card", "aria-labelledby": "household-basics" },
      h("h2", { id: "household-basics" }, "基本信息"),
      facts([
        ["地址", household.address],
        ["村（社区）", household.village_name],
        ["乡镇（街道）", household.township_name],
        ["区县", household.county_name],
        ["大致位置", `${formatCoordinate(household.approx_latitude, household.approx_longitude, 2)}（约 1 公里精度）`],
      ]),
      household.can_edit && addressForm(root, household, page),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "household-persons" },
      h("h2", { id: "household-persons" }, "家庭成员"),
      household.persons.length === 0
        ? h("p", { class: "muted" }, "暂无登记人员。")
        : h("ul", { class: "persons" }, household.persons.map((p) => personCard(p, household.can_read_sensitive))),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "household-assignments" },
      h("h2", { id: "household-assignments" }, "服务安排"),
      household.assignments.length === 0
        ? h("p", { class: "muted" }, "暂无服务安排。")
        : h("ul", { class: "assignments" }, household.assignments.map(assignmentRow)),
      managesProvider(account) && reassignForm(root, household, page),
      seesVisits(account) && h("a", { class: "link", href: `#/visits?household=${household.id}` }, "查看本户的服务记录"),
      h("p", { class: "household-agreement-link" }, h("a", { class: "link", href: `#/households/${household.id}/agreement` }, "服务协议与履约日历")),
    ),
    issuesCards(account) && cardSection(household),
    makesEvidenceBundles(account) && bundleSection({ subject: "household", id: household.id, name: `户 ${household.code}` }),
  );
}

function personCard(person, canReadSensitive) {
  const sensitive = h("div", { class: "sensitive" });
  const card = h(
    "li",
    { class: "person" },
    h("h3", {}, person.name),
    facts([
      ["性别", person.gender_label],
      ["出生年份", `${person.birth_year} 年`],
      ["自理能力", h("span", { class: `badge care-${person.care_level}` }, person.care_level_label)],
      ["身份证号", h("span", { class: "code id-number" }, person.id_number_masked)],
      ["健康情况", person.has_health_notes ? "有记录（属敏感信息）" : "无记录"],
    ]),
    canReadSensitive && sensitive,
  );
  if (canReadSensitive) offerSensitiveRead(sensitive, person);
  return card;
}

// Reading identity numbers and health notes is logged per person (PIPL art. 28), so the
// reader is told before the request is made, and the revealed view can be closed again.
function offerSensitiveRead(box, person) {
  fill(
    box,
    h("button", { type: "button", class: "button", on: { click: () => confirmSensitiveRead(box, person) } }, "查看敏感信息"),
  );
}

function confirmSensitiveRead(box, person) {
  const confirmButton = h("button", { type: "button", class: "button button-primary" }, "确认查看");
  const cancelButton = h("button", { type: "button", class: "button" }, "取消");
  cancelButton.addEventListener("click", () => offerSensitiveRead(box, person));
  confirmButton.addEventListener("click", async () => {
    confirmButton.disabled = true;
    cancelButton.disabled = true;
    confirmButton.textContent = "正在读取…";
    try {
      showSensitive(box, person, await api.get(`/api/persons/${person.id}/sensitive`), new Date());
    } catch (error) {
      fill(box, notice("error", error.message), h("button", { type: "button", class: "button", on: { click: () => offerSensitiveRead(box, person) } }, "返回"));
    }
  });
  fill(
    box,
    h(
      "div",
      { class: "confirm", role: "alertdialog", "aria-label": "确认查看敏感信息" },
      h("p", { class: "confirm-title" }, `查看${person.name}的身份证号、健康情况和精确位置？`),
      h("p", {}, "此操作将记入审计日志（查看人、时间和查看的内容），请仅在工作需要时查看。"),
      h("div", { class: "actions" }, confirmButton, cancelButton),
    ),
  );
  confirmButton.focus();
}

function showSensitive(box, person, record, readAt) {
  fill(
    box,
    h(
      "div",
      { class: "sensitive-record" },
      notice("info", `本次查看已于 ${formatDateTime(readAt)}（北京时间）记入审计日志。`),
      facts([
        [
          "身份证号",
          record.id_number_shown
            ? h("span", { class: "code id-number-full" }, record.id_number)
            : h("span", {}, h("span", { class: "code" }, record.id_number), h("span", { class: "muted" }, "（您的角色只能查看脱敏号码）")),
        ],
        ["疾病情况", record.illness || "无"],
        ["残疾情况", record.disability || "无"],
        ["精确位置", formatCoordinate(record.latitude, record.longitude, 6)],
      ]),
      h("button", { type: "button", class: "button", on: { click: () => offerSensitiveRead(box, person) } }, "隐藏敏感信息"),
    ),
  );
}

function assignmentRow(assignment) {
  const period = assignment.ends_on
    ? `${formatDate(assignment.starts_on)} 至 ${formatDate(assignment.ends_on)}`
    : `${formatDate(assignment.starts_on)} 起`;
  return h(
    "li",
    { class: "assignment" },
    h("span", { class: "assignment-worker" }, assignment.worker_name),
    h("span", { class: "assignment-organisation" }, assignment.organisation_name),
    h("span", { class: "assignment-period muted" }, period),
  );
}

function addressForm(root, household, page) {
  const input = h("input", {
    id: "household-address",
    name: "address",
    value: household.address,
    maxlength: "200",
    autocomplete: "off",
    "aria-describedby": "household-address-error",
  });
  const fieldError = h("p", { class: "field-error", id: "household-address-error" });
  const message = h("div", { class: "form-message" });
  const save = h("button", { type: "submit", class: "button button-primary" }, "保存地址");

  async function saveAddress(event) {
    event.preventDefault();
    save.disabled = true;
    fill(message);
    fieldError.textContent = "";
    input.removeAttribute("aria-invalid");
    try {
      const updated = await api.patch(`/api/households/${household.id}`, { json: { address: input.value.trim() } });
      render(root, updated, page, "地址已保存。");
    } catch (error) {
      const forAddress = error.fieldMessage("address");
      if (forAddress) {
        fieldError.textContent = forAddress;
        input.setAttribute("aria-invalid", "true");
        input.focus();
      }
      fill(message, notice("error", error.message));
      save.disabled = false;
    }
  }

  return h(
    "form",
    { class: "form address-form", novalidate: true, on: { submit: saveAddress } },
    h("h3", {}, "修改地址"),
    h("label", { class: "field" }, h("span", { class: "field-label" }, "地址"), input),
    fieldError,
    message,
    save,
  );
}

// A new worker for the household from a date; the current assignment ends the day before.
function reassignForm(root, household, page) {
  const worker = h("select", { id: "reassign-worker", name: "worker_id" }, h("option", { value: "" }, "请选择社工"));
  const startsOn = h("input", { id: "reassign-starts", name: "starts_on", type: "date", value: shanghaiIsoDate() });
  const message = h("div", { class: "form-message" });
  const submit = h("button", { type: "submit", class: "button button-primary" }, "改派");
  api
    .get("/api/staff")
    .then((staff) => {
      for (const person of staff.filter((s) => s.role === "field_worker" && s.active)) {
        worker.append(h("option", { value: String(person.account_id) }, `${person.display_name}（负责 ${person.household_count} 户）`));
      }
    })
    .catch((error) => fill(message, notice("error", error.message)));

  async function reassign(event) {
    event.preventDefault();
    fill(message);
    if (!worker.value) {
      fill(message, notice("error", "请选择新的负责社工。"));
      return;
    }
    submit.disabled = true;
    try {
      const assignment = await api.post("/api/assignments", {
        json: { household_id: household.id, worker_id: Number(worker.value), starts_on: startsOn.value },
      });
      const updated = await api.get(`/api/households/${household.id}`);
      render(root, updated, page, `已改派给${assignment.worker_name}，自 ${formatDate(assignment.starts_on)} 起由其负责。`);
    } catch (error) {
      fill(message, notice("error", error.message));
      submit.disabled = false;
    }
  }

  return h(
    "form",
    { class: "form reassign-form", novalidate: true, on: { submit: reassign } },
    h("h3", {}, "改派社工"),
    h("label", { class: "field" }, h("span", { class: "field-label" }, "新的负责社工"), worker),
    h("label", { class: "field" }, h("span", { class: "field-label" }, "开始负责日期"), startsOn),
    message,
    submit,
  );
}

// Reissuing makes every earlier printed card of the household stop verifying at once.
function cardSection(household) {
  const reason = h("input", { id: "card-reason", name: "reason", maxlength: "200", autocomplete: "off", "aria-describedby": "card-reason-error" });
  const reasonError = h("p", { class: "field-error", id: "card-reason-error" });
  const message = h("div", { class: "form-message", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button button-primary" }, "补发门牌卡");
  const image = h("div", { class: "card-image" });

  function showCard(version) {
    fill(
      image,
      h("img", { src: `/api/households/${household.id}/card.png?v=${version || "current"}`, alt: "门牌卡二维码", width: "240", height: "240" }),
      h("a", { class: "button", href: `/api/households/${household.id}/card.png`, download: `门牌卡-${household.code}.png` }, "下载二维码图片"),
    );
  }

  async function reissue(event) {
    event.preventDefault();
    reasonError.textContent = "";
    fill(message);
    if (reason.value.trim().length < 2) {
      reasonError.textContent = "请填写补发原因（如：卡片丢失、损坏）。";
      reason.focus();
      return;
    }
    submit.disabled = true;
    try {
      const card = await api.post(`/api/households/${household.id}/card`, { json: { reason: reason.value.trim() } });
      reason.value = "";
      fill(message, notice("success", `已补发第 ${card.version} 版门牌卡，旧卡已作废。请打印新卡替换。`));
      showCard(card.version);
    } catch (error) {
      const forReason = error.fieldMessage("reason");
      if (forReason) reasonError.textContent = forReason;
      fill(message, notice("error", error.message));
    } finally {
      submit.disabled = false;
    }
  }

  return h(
    "section",
    { class: "card", "aria-labelledby": "household-card" },
    h("h2", { id: "household-card" }, "门牌卡"),
    h("p", { class: "muted" }, "门牌卡丢失、损坏或疑似被翻拍时补发；补发后旧卡立即作废，扫旧卡签到会被标记。"),
    h("button", { type: "button", class: "button", on: { click: () => showCard("") } }, "显示当前门牌卡"),
    image,
    h(
      "form",
      { class: "form card-form", novalidate: true, on: { submit: reissue } },
      h("label", { class: "field" }, h("span", { class: "field-label" }, "补发原因"), reason),
      reasonError,
      message,
      submit,
    ),
  );
}
