// One finding: the clause it breaches, the evidence that proves it (the days, the gaps, the visits),
// what it costs, what was said and decided about it; the provider's explanation form and the county
// auditor's decision form, each offered only when the server says that caller may use it now.

import { api } from "../api.js";
import { facts, fill, formatDateTime, h, notice } from "../dom.js";
import { labelled, problems } from "../forms.js";
import { yuan } from "../money.js";
import { seesVisits } from "../roles.js";
import { amountText, findingVocabulary, monthText, periodText, stateBadge } from "./findings.js";

const WEEKDAYS = ["日", "一", "二", "三", "四", "五", "六"];

/** "11月9日", or with its weekday "11月9日 周一". */
function dayText(isoDate, weekday = false) {
  const [, month, day] = isoDate.split("-").map(Number);
  const name = weekday ? ` 周${WEEKDAYS[new Date(`${isoDate}T00:00:00Z`).getUTCDay()]}` : "";
  return `${month}月${day}日${name}`;
}

function dayList(days, className) {
  return h("ul", { class: `day-chips ${className}` }, days.map((d) => h("li", {}, dayText(d, true))));
}

function gapText(gap) {
  const since = gap.last_visit ? `${dayText(gap.last_visit)}上门后` : `${dayText(gap.since)}起`;
  const next = gap.next_visit ? `，直到${dayText(gap.next_visit)}才再次上门` : "，此后至今无人上门";
  const overdue = `${dayText(gap.overdue_from)}至${dayText(gap.overdue_to)}`;
  return `${since}${next}：连续 ${gap.days_without} 天无人上门，其中 ${overdue} 超过约定间隔。`;
}

function visitItem(visit, linked) {
  const details = [
    visit.duration_minutes === null ? "未签退" : `${visit.duration_minutes} 分钟`,
    visit.presence_label,
    `照片 ${visit.photo_count} 张`,
    visit.services.join("、"),
  ].filter(Boolean);
  const when = `${formatDateTime(visit.checkin_at)} · ${visit.worker_name}`;
  return h(
    "li",
    { class: "evidence-visit" },
    linked ? h("a", { class: "link", href: `#/visits/${visit.id}` }, when) : h("span", {}, when),
    h("span", { class: "muted" }, details.join(" · ")),
  );
}

function evidenceSection(finding, vocabulary, account) {
  const e = finding.evidence || {};
  const missingLabel = finding.clause_kind === "visits_per_week" ? "无人上门的日子" : "应上门而无人上门的日子";
  const pairs = [];
  if (e.reported_at) pairs.push(["登记患病", formatDateTime(e.reported_at)]);
  if (e.deadline) pairs.push(["应上门截止", formatDateTime(e.deadline)]);
  if (e.reported_at && e.deadline) pairs.push(["首次上门", e.first_visit_at ? formatDateTime(e.first_visit_at) : "至今无人上门"]);
  if ((e.problems || []).length > 0) pairs.push(["凭证问题", e.problems.map((p) => vocabulary.evidence_problems[p] || p).join("、")]);
  const services = Object.keys(e.required || {});
  return h(
    "section",
    { class: "card", "aria-labelledby": "finding-evidence" },
    h("h2", { id: "finding-evidence" }, "证据"),
    pairs.length > 0 && facts(pairs),
    (e.missing_days || []).length > 0 && [h("h3", {}, `${missingLabel}（${e.missing_days.length} 天）`), dayList(e.missing_days, "day-chips-missed")],
    (e.gaps || []).length > 0 && [h("h3", {}, "上门间隔"), h("ul", { class: "gaps" }, e.gaps.map((g) => h("li", {}, gapText(g))))],
    (e.sick_days || []).length > 0 && [h("h3", {}, "患病、住院的日子（不计入应上门）"), dayList(e.sick_days, "day-chips-sick")],
    services.length > 0 && [
      h("h3", {}, "本月服务项目"),
      h(
        "ul",
        { class: "service-counts" },
        services.map((s) => h("li", {}, `${vocabulary.services[s] || s}：完成 ${(e.counted || {})[s] || 0} 次，应 ${e.required[s]} 次`)),
      ),
    ],
    h("h3", {}, `相关上门记录（${finding.visits.length}）`),
    finding.visits.length === 0
      ? h("p", { class: "muted" }, "这段时间没有计入的上门记录。")
      : h("ul", { class: "evidence-visits" }, finding.visits.map((v) => visitItem(v, seesVisits(account)))),
    h("a", { class: "link", href: `#/households/${finding.household_id}/agreement?month=${finding.month}` }, `在${monthText(finding.month)}履约日历中查看`),
  );
}

function historySection(finding) {
  const steps = [
    h("li", { class: "history-step" }, h("p", { class: "history-title" }, "系统核查发现"), h("p", { class: "muted" }, formatDateTime(finding.found_at))),
  ];
  if (finding.explained_at) {
    steps.push(
      h(
        "li",
        { class: "history-step history-explained" },
        h("p", { class: "history-title" }, `服务机构说明：${finding.explanation_reason_label}`),
        h("p", { class: "history-text" }, finding.explanation),
        h("p", { class: "muted" }, `${finding.explained_by_name} · ${formatDateTime(finding.explained_at)}`),
      ),
    );
  }
  if (finding.decided_at) {
    steps.push(
      h(
        "li",
        { class: "history-step history-decided" },
        // Once resolved the state no longer says what was decided; the comment still does.
        h("p", { class: "history-title" }, "县（区）审核", !finding.resolved_at && ["：", stateBadge(finding)]),
        h("p", { class: "history-text" }, finding.decision_comment),
        h("p", { class: "muted" }, `${finding.decided_by_name} · ${formatDateTime(finding.decided_at)}`),
      ),
    );
  }
  if (finding.resolved_at) {
    steps.push(
      h(
        "li",
        { class: "history-step" },
        h("p", { class: "history-title" }, "数据更新后不再成立"),
        h("p", { class: "muted" }, formatDateTime(finding.resolved_at)),
      ),
    );
  }
  return h(
    "section",
    { class: "card", "aria-labelledby": "finding-history" },
    h("h2", { id: "finding-history" }, "处理经过"),
    h("ol", { class: "history" }, steps),
    !finding.explained_at && !finding.decided_at && h("p", { class: "muted" }, "服务机构尚未说明原因。"),
  );
}

function explainForm(finding, vocabulary, redraw) {
  const box = h("div", { class: "form-message" });
  const report = problems(box);
  const reason = h(
    "select",
    { id: "explain-reason", name: "reason" },
    h("option", { value: "" }, "请选择"),
    Object.entries(vocabulary.reasons).map(([value, label]) => h("option", { value, selected: value === finding.explanation_reason }, label)),
  );
  const text = h("textarea", { id: "explain-text", name: "text", rows: "4", maxlength: "1000" }, finding.explanation || "");
  const reasonField = labelled("原因类别", reason);
  const textField = labelled("情况说明", text, { hint: "写明经过和可以核实的情况（如外出去向、住院医院、补传记录的时间）" });
  report.claim("reason", reason, reasonField.error);
  report.claim("text", text, textField.error);
  const submit = h("button", { type: "submit", class: "button button-primary" }, finding.explained_at ? "修改说明" : "提交说明");

  async function send(event) {
    event.preventDefault();
    report.clear();
    if (!reason.value) {
      report.show({ message: "请选择原因。", fields: [{ field: "reason", message: "请选择原因" }] });
      return;
    }
    if (text.value.trim().length < 2) {
      report.show({ message: "请填写情况说明。", fields: [{ field: "text", message: "请至少写两个字" }] });
      return;
    }
    submit.disabled = true;
    try {
      const updated = await api.post(`/api/findings/${finding.id}/explain`, { json: { reason: reason.value, text: text.value.trim() } });
      redraw(updated, "说明已提交，等待县（区）民政局审核。");
    } catch (error) {
      report.show(error);
      submit.disabled = false;
    }
  }

  return h(
    "section",
    { class: "card", "aria-labelledby": "explain-title" },
    h("h2", { id: "explain-title" }, "说明原因"),
    h("p", { class: "muted" }, "县（区）民政局审核前可以修改说明；审核后不能再改。"),
    h("form", { class: "form explain-form", novalidate: true, on: { submit: send } }, reasonField.nodes, textField.nodes, box, submit),
  );
}

function decideForm(finding, vocabulary, redraw) {
  const box = h("div", { class: "form-message" });
  const report = problems(box);
  const choices = Object.entries(vocabulary.decisions).map(([value, label]) => {
    const input = h("input", { type: "radio", name: "decision", value, id: `decide-${value}` });
    const money = value === "uphold" ? `（扣 ${yuan(finding.amount_fen)}）` : "";
    return { input, node: h("label", { class: "choice", for: input.id }, input, h("span", {}, `${label}${money}`)) };
  });
  const decisionError = h("p", { class: "field-error", id: "decide-decision-error" });
  const group = h(
    "fieldset",
    { class: "choices", "aria-describedby": decisionError.id },
    h("legend", { class: "field-label" }, "审核结论"),
    choices.map((c) => c.node),
  );
  const comment = h("textarea", { id: "decide-comment", name: "comment", rows: "3", maxlength: "1000" });
  const commentField = labelled("审核意见", comment);
  report.claim("decision", group, decisionError);
  report.claim("comment", comment, commentField.error);
  const submit = h("button", { type: "submit", class: "button button-primary" }, "提交审核结论");

  async function send(event) {
    event.preventDefault();
    report.clear();
    const picked = choices.find((c) => c.input.checked);
    if (!picked) {
      report.show({ message: "请选择审核结论。", fields: [{ field: "decision", message: "请选择一项" }] });
      return;
    }
    if (comment.value.trim().length < 2) {
      report.show({ message: "请填写审核意见。", fields: [{ field: "comment", message: "请至少写两个字" }] });
      return;
    }
    submit.disabled = true;
    try {
      const updated = await api.post(`/api/findings/${finding.id}/decide`, {
        json: { decision: picked.input.value, comment: comment.value.trim() },
      });
      redraw(updated, `审核结论已保存：${updated.state_label}。`);
    } catch (error) {
      report.show(error);
      submit.disabled = false;
    }
  }

  return h(
    "section",
    { class: "card", "aria-labelledby": "decide-title" },
    h("h2", { id: "decide-title" }, "审核"),
    h(
      "p",
      { class: "muted" },
      finding.state === "open" ? "服务机构尚未说明原因，也可以直接审核。" : "请核对服务机构的说明和证据后作出结论。",
      "结论作出后不能更改；维持扣减的发现计入当月结算单，每户每月扣减不超过上限。",
    ),
    h("form", { class: "form decide-form", novalidate: true, on: { submit: send } }, group, decisionError, commentField.nodes, box, submit),
  );
}

function render(root, finding, vocabulary, context, done = "") {
  const { account, setTitle } = context;
  if (done) window.scrollTo(0, 0);
  setTitle(`${finding.clause_title} · 违约发现`);
  const redraw = (updated, message) => render(root, updated, vocabulary, context, message);
  fill(
    root,
    h("a", { class: "back", href: "#/findings" }, "‹ 违约发现"),
    h(
      "header",
      { class: "page-header" },
      h("h1", { tabindex: "-1" }, finding.clause_title),
      h("p", { class: "finding-badges" }, stateBadge(finding), h("span", { class: "muted" }, ` ${finding.clause_kind_label}`)),
    ),
    done && notice("success", done),
    h(
      "section",
      { class: "card", "aria-labelledby": "finding-facts" },
      h("h2", { id: "finding-facts" }, "违约情况"),
      h("p", { class: "finding-summary" }, finding.summary),
      facts([
        [
          "户",
          h(
            "a",
            { class: "link", href: `#/households/${finding.household_id}/agreement?month=${finding.month}` },
            `${finding.person_name_masked || "（未登记）"} · ${finding.household_code}`,
          ),
        ],
        ["村（社区）", finding.village_name],
        ["服务机构", finding.organisation_name || "个人照料"],
        ["服务协议", `${finding.agreement_code}（标准文本第 ${finding.template_version} 版）`],
        ["期间", periodText(finding)],
        ["所属月份", monthText(finding.month)],
        ["应达", finding.expected_text],
        ["实际", finding.actual_text],
        ["计违约", `${finding.units} 次`],
        ["扣减金额", h("span", { class: `finding-amount finding-amount-${finding.state}` }, amountText(finding))],
        [
          "扣减标准",
          `每次按月照料护理费 ${yuan(finding.monthly_fee_fen)} 的 ${finding.per_breach_bp / 100}% 扣减，本户每月合计不超过 ${yuan(finding.monthly_cap_fen)}`,
        ],
        ["发现时间", formatDateTime(finding.found_at)],
      ]),
      finding.clause_text && h("blockquote", { class: "clause-text" }, h("p", {}, `协议条款：${finding.clause_text}`)),
    ),
    evidenceSection(finding, vocabulary, account),
    historySection(finding),
    finding.can_explain && explainForm(finding, vocabulary, redraw),
    finding.can_decide && decideForm(finding, vocabulary, redraw),
  );
}

export async function findingPage(root, context) {
  const { match, setTitle } = context;
  setTitle("违约发现");
  let finding;
  let vocabulary;
  try {
    [finding, vocabulary] = await Promise.all([api.get(`/api/findings/${match[1]}`), findingVocabulary()]);
  } catch (error) {
    fill(
      root,
      h("a", { class: "back", href: "#/findings" }, "‹ 违约发现"),
      h("h1", { tabindex: "-1" }, "违约发现"),
      notice("error", error.message),
      h("a", { class: "button", href: "#/" }, "返回首页"),
    );
    return;
  }
  render(root, finding, vocabulary, context);
}
