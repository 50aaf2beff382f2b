// One purchased-service contract: its terms as they stood on any day, its items, its budget so
// far, who it covers and how many were served, its monthly statements, its amendment history
// (and a new amendment, for the city), its documents. A provider reads its own, unchanged.

import { api } from "../api.js";
import { facts, fill, formatDate, formatDateTime, h, notice, shanghaiIsoDate } from "../dom.js";
import { bundleSection } from "../evidence-bundle.js";
import { disclosure, labelled, problems } from "../forms.js";
import { count, moneyGauges, parseYuan, share, yuan, yuanInput } from "../money.js";
import { makesEvidenceBundles } from "../roles.js";
import { dataTable } from "../tables.js";
import { periodText, statusBadge } from "./contract-list.js";
import { statementRows } from "./statement-list.js";

const SETTING_OF_KIND = { home_care: "home", centralised_care: "facility" };

function contractAddress(id, on) {
  return on ? `/contracts/${id}?on=${on}` : `/contracts/${id}`;
}

export async function contractPage(root, context) {
  const { match, params, setTitle } = context;
  const id = match[1];
  const on = params.get("on") || "";
  setTitle("合同详情");
  let contract;
  let refused = null;
  try {
    contract = await api.get(`/api/contracts/${id}${on ? `?state_on=${encodeURIComponent(on)}` : ""}`);
  } catch (error) {
    // A day before the contract existed: say so next to the date, and show today's terms.
    if (on && error.status === 400) refused = error;
    try {
      if (!refused) throw error;
      contract = await api.get(`/api/contracts/${id}`);
    } catch (failure) {
      fill(
        root,
        h("a", { class: "back", href: "#/contracts" }, "‹ 购买服务合同"),
        h("h1", { tabindex: "-1" }, "合同详情"),
        notice("error", failure.message),
        h("a", { class: "button", href: "#/contracts" }, "返回合同列表"),
      );
      return;
    }
  }
  await render(root, contract, context, { refused, asked: on });
}

async function render(root, contract, context, { refused = null, asked = "", done = "" } = {}) {
  const { setTitle } = context;
  setTitle(`${contract.title} · ${contract.code}`);
  const coverageBox = h("div", {}, h("p", { class: "loading" }, "正在加载…"));
  const statementsBox = h("div", {}, h("p", { class: "loading" }, "正在加载…"));
  const amendBox = h("div", {});
  const documentsBox = h("div", {});

  fill(
    root,
    h("a", { class: "back", href: "#/contracts" }, "‹ 购买服务合同"),
    h(
      "header",
      { class: "page-header" },
      h("h1", { tabindex: "-1" }, contract.title),
      h(
        "p",
        { class: "visit-badges" },
        h("span", { class: "code" }, contract.code),
        statusBadge(contract),
        h("span", { class: "badge" }, contract.kind_label),
      ),
    ),
    done && notice("success", done),
    !contract.is_current &&
      notice(
        "info",
        `正在查看 ${formatDate(contract.state_on)} 的合同条款（此后生效的变更未计入）。`,
        h("a", { class: "link", href: `#${contractAddress(contract.id, "")}` }, "查看今天的条款"),
      ),
    dayPicker(contract, context, refused, asked),
    h(
      "section",
      { class: "card", "aria-labelledby": "contract-basics" },
      h("h2", { id: "contract-basics" }, "合同信息"),
      facts([
        ["合同编号", h("span", { class: "code" }, contract.code)],
        ["采购方", contract.buyer.name],
        ["服务机构", contract.supplier.name],
        ["服务区域", contract.service_area.name],
        ["合同状态", contract.status_label],
        ["签订日期", formatDate(contract.date_signed)],
        ["服务期", periodText(contract.period)],
        ["合同金额", h("strong", { class: "contract-value" }, yuan(contract.value_fen))],
        ["变更次数", contract.amendment_count > 0 ? `${contract.amendment_count} 次` : "无"],
      ]),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "contract-items" },
      h("h2", { id: "contract-items" }, "服务项目"),
      dataTable({
        label: "服务项目",
        className: "contract-items",
        columns: [
          { label: "服务项目" },
          { label: "单位" },
          { label: "单价", num: true },
          { label: "数量", num: true },
          { label: "金额", num: true },
        ],
        rows: contract.items.map((item) => [item.description, item.unit_name, yuan(item.unit_value_fen), count(item.quantity), yuan(item.amount_fen)]),
        foot: [["合同金额合计", yuan(contract.value_fen)]],
        empty: "没有服务项目。",
      }),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "contract-budget" },
      h("h2", { id: "contract-budget" }, "预算执行"),
      moneyGauges(contract.budget),
      h("p", { class: "field-hint muted" }, "已交付：已确认（含已支付）结算单的合计；百分比为占合同承诺金额的比例。"),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "contract-coverage" },
      h("h2", { id: "contract-coverage" }, "覆盖与服务"),
      coverageBox,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "contract-statements" },
      h("h2", { id: "contract-statements" }, "月度结算单"),
      statementsBox,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "contract-amendments" },
      h("h2", { id: "contract-amendments" }, "变更历史"),
      h("p", { class: "muted" }, "合同从不直接修改：每次变更是一条新记录，写明日期、理由和经办人。"),
      h("ol", { class: "amendments" }, [...contract.amendments].reverse().map(amendmentItem)),
      amendBox,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "contract-documents" },
      h("h2", { id: "contract-documents" }, "合同文件"),
      documentsBox,
    ),
    makesEvidenceBundles(context.account) && bundleSection({ subject: "contract", id: contract.id, name: `合同 ${contract.code}` }),
  );

  fill(documentsBox, documentList(contract));
  // The city's forms need the vocabulary; the figures below may take a moment longer.
  const forms = contract.can_amend
    ? api
        .get("/api/contracts/vocabulary")
        .then((vocabulary) => {
          // A change is written against the terms in force today, never against a past day's.
          fill(
            amendBox,
            contract.is_current
              ? amendmentForm(root, contract, context, vocabulary)
              : h("p", { class: "muted" }, "登记变更请先", h("a", { href: `#${contractAddress(contract.id, "")}` }, "回到今天的条款"), "。"),
          );
          documentsBox.append(uploadForm(root, contract, context, vocabulary));
        })
        .catch((error) => fill(amendBox, notice("error", error.message)))
    : Promise.resolve();
  await Promise.all([forms, showCoverage(coverageBox, contract), showStatements(statementsBox, contract, context)]);
}

// --- 查看某日状态 ----------------------------------------------------------------------------

function dayPicker(contract, { navigate }, refused, asked) {
  const input = h("input", { id: "contract-state-on", name: "state_on", type: "date", value: asked || contract.state_on, required: true });
  const { nodes, error } = labelled("查看某日状态", input, { hint: "显示该日生效的合同条款、金额和覆盖人数" });
  if (refused) {
    error.textContent = refused.fieldMessage("query.state_on") || refused.message;
    input.setAttribute("aria-invalid", "true");
  }
  return h(
    "form",
    {
      class: "card form day-picker",
      role: "search",
      "aria-label": "按日期查看合同条款",
      on: {
        submit: (event) => {
          event.preventDefault();
          if (input.value) navigate(contractAddress(contract.id, input.value));
        },
      },
    },
    refused && notice("error", refused.message, "下方显示的是今天的条款。"),
    ...nodes,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "button button-primary" }, "查看"),
      !contract.is_current && h("a", { class: "button", href: `#${contractAddress(contract.id, "")}` }, "回到今天"),
    ),
  );
}

// --- coverage --------------------------------------------------------------------------------

async function showCoverage(box, contract) {
  const month = contract.state_on.slice(0, 7);
  const monthLabel = `${Number(month.slice(0, 4))}年${Number(month.slice(5, 7))}月`;
  const subjects = contract.kind === "home_care" ? "户" : "名住院人员";
  const covered = contract.kind === "home_care" ? contract.coverage.households : contract.coverage.residents;
  let row = null;
  try {
    const figures = await api.get(`/api/coverage/figures?group=contract&month=${month}`);
    row = figures.rows.find((r) => r.key === contract.code) || null;
  } catch {
    row = null; // the figures are an extra: the coverage count below stands without them
  }
  fill(
    box,
    h(
      "dl",
      { class: "coverage-figures" },
      h("div", { class: "coverage-figure" }, h("dt", {}, `${formatDate(contract.state_on)}覆盖`), h("dd", {}, `${count(covered)} ${subjects}`)),
      h(
        "div",
        { class: "coverage-figure coverage-served" },
        h("dt", {}, `${monthLabel}已服务`),
        h("dd", {}, row ? `${count(row.served)} ${subjects}` : "—"),
      ),
      h(
        "div",
        { class: "coverage-figure coverage-not-served" },
        h("dt", {}, `${monthLabel}未服务`),
        h("dd", {}, row ? `${count(row.not_served)} ${subjects}` : "—"),
      ),
    ),
    row &&
      h(
        "p",
        { class: "muted" },
        row.bed_days > 0
          ? `本月在院床日 ${count(row.bed_days)} 个；已服务占覆盖 ${share(row.served, row.covered)}。`
          : `本月核验通过的上门服务 ${count(row.verified_visits)} 次；已服务占覆盖 ${share(row.served, row.covered)}。`,
      ),
    h("p", { class: "muted" }, `合同至今共覆盖过 ${count(contract.coverage.ever_covered)} 个对象（含已终止覆盖的）。`),
    h("a", { class: "link", href: `#/contracts/${contract.id}/coverage?on=${contract.state_on}` }, "查看覆盖对象名单 ›"),
  );
}

// --- statements ------------------------------------------------------------------------------

async function showStatements(box, contract, { navigate }) {
  const message = h("div", { class: "form-message generate-message", "aria-live": "polite" });
  const month = shanghaiIsoDate().slice(0, 7);
  const generate =
    contract.can_settle &&
    h(
      "button",
      {
        type: "button",
        class: "button button-primary",
        on: {
          click: async () => {
            generate.disabled = true;
            fill(message);
            try {
              const statement = await api.post(`/api/contracts/${contract.id}/statements`, { json: { month } });
              navigate(`/statements/${statement.id}?made=${statement.revision > 1 ? "recomputed" : "created"}`);
            } catch (error) {
              fill(message, notice("error", error.message));
              generate.disabled = false;
            }
          },
        },
      },
      "生成本月结算单",
    );
  let statements;
  try {
    statements = await api.get(`/api/contracts/${contract.id}/statements?page_size=50`);
  } catch (error) {
    fill(box, notice("error", error.message));
    return;
  }
  // This month's own statement decides what the button does: make it, recompute it, or nothing
  // (a confirmed month is corrected by an adjusting statement, from the statement's page).
  const current = statements.items.find((s) => s.month === month && s.kind === "original");
  if (generate && current && current.status === "draft") generate.textContent = "重新核算本月结算单";
  const locked = generate && current && current.status !== "draft";
  fill(
    box,
    statements.items.length === 0
      ? h("p", { class: "muted" }, "尚无结算单。")
      : statementRows(statements.items, { showContract: false }),
    statements.total > statements.items.length && h("p", { class: "muted" }, `仅显示最近 ${statements.items.length} 份，共 ${statements.total} 份。`),
    generate && !locked && h("div", { class: "actions" }, generate),
    generate && !locked && h("p", { class: "field-hint muted" }, "按本月核验通过的服务计价；草稿可重新核算，确认后不再改变。"),
    locked &&
      h(
        "p",
        { class: "muted month-locked" },
        `本月结算单${current.status_label}，不再重新核算；如需更正，请在`,
        h("a", { href: `#/statements/${current.id}` }, "本月结算单"),
        "页面生成调整结算单。",
      ),
    message,
  );
}

// --- amendments ------------------------------------------------------------------------------

function amendmentItem(amendment) {
  const value =
    amendment.value_before_fen === null
      ? `合同金额 ${yuan(amendment.value_after_fen)}`
      : amendment.value_before_fen === amendment.value_after_fen
        ? `合同金额不变（${yuan(amendment.value_after_fen)}）`
        : `合同金额 ${yuan(amendment.value_before_fen)} → ${yuan(amendment.value_after_fen)}`;
  return h(
    "li",
    { class: `amendment${amendment.in_force ? "" : " amendment-pending"}` },
    h(
      "p",
      { class: "amendment-head" },
      h("strong", {}, amendment.kind_label),
      h("span", { class: `badge ${amendment.in_force ? "badge-done" : "badge-open"}` }, amendment.in_force ? "已生效" : "所选日期尚未生效"),
    ),
    h("p", { class: "amendment-what" }, amendment.description),
    facts([
      ["变更日期", formatDate(amendment.date)],
      ["生效日期", formatDate(amendment.effective_on)],
      ["理由", amendment.rationale],
      ["经办人", amendment.author_name],
      ["金额", value],
      ["登记时间", formatDateTime(amendment.recorded_at)],
    ]),
  );
}

function input(id, props = {}) {
  return h("input", { id, name: id, autocomplete: "off", ...props });
}

async function householdIds(codes) {
  const ids = [];
  const missing = [];
  for (const code of codes) {
    const found = await api.get(`/api/households?q=${encodeURIComponent(code)}&page_size=5`);
    const household = found.items.find((item) => item.code === code);
    if (household) ids.push(household.id);
    else missing.push(code);
  }
  return { ids, missing };
}

function lines(text) {
  return text
    .split(/[\s,，、;；]+/)
    .map((part) => part.trim())
    .filter(Boolean);
}

function amendmentForm(root, contract, context, vocabulary) {
  const today = shanghaiIsoDate();
  const homeCare = contract.kind === "home_care";
  const box = h("div", { class: "form-message" });
  const report = problems(box);
  const claim = (name, control) => {
    const field = labelled(control.label, control.input, { hint: control.hint });
    report.claim(name, control.input, field.error);
    return field.nodes;
  };

  const date = input("amend-date", { type: "date", value: today });
  const effective = input("amend-effective", { type: "date", value: today });
  const rationale = h("textarea", { id: "amend-rationale", name: "rationale", rows: "3", maxlength: "1000" });
  const title = input("amend-title", { maxlength: "200", placeholder: contract.title });
  const status = h(
    "select",
    { id: "amend-status", name: "status" },
    h("option", { value: "" }, "不变"),
    Object.entries(vocabulary.statuses)
      .filter(([value]) => value !== contract.status)
      .map(([value, label]) => h("option", { value }, label)),
  );
  const start = input("amend-start", { type: "date", value: contract.period.start_date });
  const end = input("amend-end", { type: "date", value: contract.period.end_date });

  // The items as they stand, each editable or removable, and one service that may be added.
  const rows = contract.items.map((item, n) => ({
    item,
    quantity: input(`amend-item-${n}-quantity`, { type: "number", min: "1", step: "1", inputmode: "numeric", value: String(item.quantity), "aria-label": `${item.description}数量` }),
    price: input(`amend-item-${n}-price`, { inputmode: "decimal", value: yuanInput(item.unit_value_fen), "aria-label": `${item.description}单价（元）` }),
    remove: h("input", { type: "checkbox", id: `amend-item-${n}-remove`, "aria-label": `取消${item.description}` }),
    error: h("p", { class: "field-error", id: `amend-item-${n}-error` }),
  }));
  for (const row of rows) {
    row.quantity.setAttribute("aria-describedby", row.error.id);
    row.price.setAttribute("aria-describedby", row.error.id);
  }
  const offered = vocabulary.services.filter(
    (s) => s.setting === SETTING_OF_KIND[contract.kind] && !contract.items.some((item) => item.classification === s.code),
  );
  const added = {
    service: h("select", { id: "amend-new-service", name: "new_service", "aria-label": "新增服务项目" }, h("option", { value: "" }, "不新增"), offered.map((s) => h("option", { value: s.code }, `${s.label}（每${s.unit}）`))),
    quantity: input("amend-new-quantity", { type: "number", min: "1", step: "1", inputmode: "numeric", "aria-label": "新增服务项目数量" }),
    price: input("amend-new-price", { inputmode: "decimal", "aria-label": "新增服务项目单价（元）" }),
    error: h("p", { class: "field-error", id: "amend-new-error" }),
  };
  const itemsError = h("p", { class: "field-error", id: "amend-items-error" });
  const itemsTable = h(
    "div",
    { class: "amend-items" },
    dataTable({
      label: "服务项目（修改数量或单价）",
      className: "amend-items-table",
      columns: [{ label: "服务项目" }, { label: "数量" }, { label: "单价（元）" }, { label: "取消该项" }],
      rows: [
        ...rows.map((row) => [h("span", {}, row.item.description, row.error), row.quantity, row.price, row.remove]),
        [h("span", {}, added.service, added.error), added.quantity, added.price, ""],
      ],
    }),
    itemsError,
  );
  report.claim("changes.items", rows[0] ? rows[0].quantity : added.service, itemsError);

  const addSubjects = h("textarea", { id: "amend-add", name: "add", rows: "2", placeholder: homeCare ? "如 610302001001-0001" : "如 12" });
  const removeSubjects = h("textarea", { id: "amend-remove", name: "remove", rows: "2" });
  const subjectWord = homeCare ? "户编号" : "住院记录编号";
  const coverageField = homeCare ? "households" : "residents";

  const submit = h("button", { type: "submit", class: "button button-primary" }, "登记变更");
  const form = h(
    "form",
    { class: "form amend-form", novalidate: true },
    h("p", { class: "muted" }, "只填写要改变的部分；生效日期起按新条款执行，此前的结算不受影响。"),
    h(
      "div",
      { class: "form-pair" },
      claim("date", { label: "变更日期（签订变更协议之日）", input: date }),
      claim("effective_on", { label: "生效日期", input: effective }),
    ),
    claim("rationale", { label: "变更理由", input: rationale }),
    h(
      "fieldset",
      { class: "amend-changes" },
      h("legend", { class: "field-label" }, "变更内容"),
      claim("changes.title", { label: "合同名称", input: title, hint: "不改名称请留空" }),
      claim("changes.status", { label: "合同状态", input: status }),
      h(
        "div",
        { class: "form-pair" },
        claim("changes.period.start_date", { label: "服务期开始", input: start }),
        claim("changes.period.end_date", { label: "服务期结束", input: end }),
      ),
      h("p", { class: "field-label" }, "服务项目"),
      itemsTable,
      claim(`changes.coverage.add_${coverageField}`, { label: `新增覆盖对象（${subjectWord}，每行一个）`, input: addSubjects }),
      claim(`changes.coverage.remove_${coverageField}`, { label: `终止覆盖对象（${subjectWord}，生效日前一天为最后覆盖日）`, input: removeSubjects }),
    ),
    box,
    submit,
  );

  async function send(event) {
    event.preventDefault();
    report.clear();
    for (const part of [...rows, added]) part.error.textContent = "";
    const mistakes = [];
    const changes = {};
    if (title.value.trim() && title.value.trim() !== contract.title) changes.title = title.value.trim();
    if (status.value) changes.status = status.value;
    if (start.value !== contract.period.start_date || end.value !== contract.period.end_date) {
      changes.period = { start_date: start.value, end_date: end.value };
    }

    // Items: what is sent is the whole list; each sent position answers for its row's errors.
    const sent = [];
    let itemsChanged = false;
    rows.forEach((row) => {
      if (row.remove.checked) {
        itemsChanged = true;
        return;
      }
      const quantity = /^\d+$/.test(row.quantity.value.trim()) ? Number(row.quantity.value) : null;
      const price = parseYuan(row.price.value);
      const at = sent.length;
      report.claim(`changes.items[${at}].quantity`, row.quantity, row.error);
      report.claim(`changes.items[${at}].unit_value_fen`, row.price, row.error);
      report.claim(`changes.items[${at}].classification`, row.quantity, row.error);
      if (!quantity) mistakes.push({ field: `changes.items[${at}].quantity`, message: "数量应为正整数" });
      if (price === null) mistakes.push({ field: `changes.items[${at}].unit_value_fen`, message: "单价应为金额，如 60 或 60.50" });
      sent.push({ classification: row.item.classification, quantity: quantity || 0, unit_value_fen: price ?? 0 });
      if (quantity !== row.item.quantity || price !== row.item.unit_value_fen) itemsChanged = true;
    });
    if (added.service.value) {
      const at = sent.length;
      const quantity = /^\d+$/.test(added.quantity.value.trim()) ? Number(added.quantity.value) : null;
      const price = parseYuan(added.price.value);
      report.claim(`changes.items[${at}].quantity`, added.quantity, added.error);
      report.claim(`changes.items[${at}].unit_value_fen`, added.price, added.error);
      report.claim(`changes.items[${at}].classification`, added.service, added.error);
      if (!quantity) mistakes.push({ field: `changes.items[${at}].quantity`, message: "数量应为正整数" });
      if (price === null) mistakes.push({ field: `changes.items[${at}].unit_value_fen`, message: "单价应为金额，如 60 或 60.50" });
      sent.push({ classification: added.service.value, quantity: quantity || 0, unit_value_fen: price ?? 0 });
      itemsChanged = true;
    }
    if (itemsChanged) changes.items = sent;

    const coverage = {};
    const adding = lines(addSubjects.value);
    const removing = lines(removeSubjects.value);
    submit.disabled = true;
    try {
      if (homeCare) {
        for (const [key, codes, name] of [["add_households", adding, "changes.coverage.add_households"], ["remove_households", removing, "changes.coverage.remove_households"]]) {
          if (codes.length === 0) continue;
          const { ids, missing } = await householdIds(codes);
          if (missing.length > 0) mistakes.push({ field: name, message: `未找到户编号：${missing.join("、")}` });
          coverage[key] = ids;
        }
      } else {
        for (const [key, values, name] of [["add_residents", adding, "changes.coverage.add_residents"], ["remove_residents", removing, "changes.coverage.remove_residents"]]) {
          if (values.length === 0) continue;
          const bad = values.filter((v) => !/^\d+$/.test(v));
          if (bad.length > 0) mistakes.push({ field: name, message: `住院记录编号应为数字：${bad.join("、")}` });
          coverage[key] = values.filter((v) => /^\d+$/.test(v)).map(Number);
        }
      }
      if (Object.keys(coverage).length > 0) changes.coverage = coverage;
      if (mistakes.length > 0) {
        report.show({ message: "变更信息有误，请检查标出的字段。", fields: mistakes });
        return;
      }
      const amendment = await api.post(`/api/contracts/${contract.id}/amendments`, {
        json: { date: date.value, effective_on: effective.value, rationale: rationale.value.trim(), changes },
      });
      const fresh = await api.get(`/api/contracts/${contract.id}`);
      await render(root, fresh, context, { done: `已登记${amendment.kind_label}：${amendment.description}` });
      window.scrollTo(0, 0);
    } catch (error) {
      report.show(error);
    } finally {
      submit.disabled = false;
    }
  }
  form.addEventListener("submit", send);
  return disclosure("登记合同变更", form);
}

// --- documents -------------------------------------------------------------------------------

function fileSize(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function documentList(contract) {
  if (contract.documents.length === 0) return h("p", { class: "muted" }, "尚未上传合同文件。");
  return h(
    "ul",
    { class: "documents" },
    contract.documents.map((doc) =>
      h(
        "li",
        { class: "document" },
        h("a", { class: "document-title", href: doc.url, download: doc.filename || "" }, doc.title),
        h("span", { class: "muted" }, `${doc.document_type_label} · ${fileSize(doc.size_bytes)} · ${formatDateTime(doc.uploaded_at)}`),
      ),
    ),
  );
}

function uploadForm(root, contract, context, vocabulary) {
  const file = h("input", {
    id: "document-file",
    name: "file",
    type: "file",
    accept: "application/pdf,image/jpeg,image/png,image/webp",
    "aria-labelledby": "document-file-label document-file-button",
  });
  const chosen = h("span", { class: "file-name muted" }, "未选择文件");
  file.addEventListener("change", () => {
    chosen.textContent = file.files[0] ? file.files[0].name : "未选择文件";
  });
  const fileError = h("p", { class: "field-error", id: "document-file-error" });
  file.setAttribute("aria-describedby", fileError.id);
  const title = input("document-title", { maxlength: "200" });
  const type = h(
    "select",
    { id: "document-type", name: "document_type" },
    Object.entries(vocabulary.document_types).map(([value, label]) => h("option", { value }, label)),
  );
  const amendment = h(
    "select",
    { id: "document-amendment", name: "amendment_id" },
    h("option", { value: "" }, "不对应某次变更"),
    contract.amendments.map((a) => h("option", { value: String(a.id) }, `${a.kind_label}（${formatDate(a.date)}）`)),
  );
  const box = h("div", { class: "form-message" });
  const report = problems(box);
  report.claim("file", file, fileError);
  const titleField = labelled("文件标题（可不填，默认用文件名）", title);
  report.claim("title", title, titleField.error);
  const typeField = labelled("文件类别", type);
  const amendmentField = labelled("对应的变更", amendment);
  report.claim("amendment_id", amendment, amendmentField.error);
  const submit = h("button", { type: "submit", class: "button button-primary" }, "上传文件");

  async function upload(event) {
    event.preventDefault();
    report.clear();
    if (!file.files[0]) {
      report.show({ message: "请选择要上传的文件。", fields: [{ field: "file", message: "请选择 PDF 或图片扫描件" }] });
      return;
    }
    const form = new FormData();
    form.append("file", file.files[0]);
    form.append("title", title.value.trim());
    form.append("document_type", type.value);
    if (amendment.value) form.append("amendment_id", amendment.value);
    submit.disabled = true;
    try {
      const doc = await api.post(`/api/contracts/${contract.id}/documents`, { form });
      const fresh = await api.get(`/api/contracts/${contract.id}${contract.is_current ? "" : `?state_on=${contract.state_on}`}`);
      await render(root, fresh, context, { done: `已上传“${doc.title}”。` });
      window.scrollTo(0, 0);
    } catch (error) {
      report.show(error);
    } finally {
      submit.disabled = false;
    }
  }

  return disclosure(
    "上传合同文件",
    h(
      "form",
      { class: "form upload-form", novalidate: true, on: { submit: upload } },
      h(
        "div",
        { class: "field" },
        h("span", { class: "field-label", id: "document-file-label" }, "文件（PDF、JPEG、PNG 或 WebP，15 MB 以内）"),
        h(
          "div",
          { class: "file-picker" },
          file,
          h("label", { class: "button", for: "document-file", id: "document-file-button" }, "选择文件"),
          chosen,
        ),
      ),
      fileError,
      ...titleField.nodes,
      ...typeField.nodes,
      ...amendmentField.nodes,
      box,
      submit,
    ),
  );
}
