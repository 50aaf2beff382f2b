// One monthly statement: what was delivered and priced, what was deducted, what is owed; and
// what can be done with it now (recompute a draft, confirm it, record the payment, adjust a
// confirmed month), the server's refusals in its own words; printing and the CSV export.

import { api } from "../api.js";
import { facts, fill, formatDate, formatDateTime, h, notice, shanghaiIsoDate } from "../dom.js";
import { disclosure, labelled, problems } from "../forms.js";
import { count, yuan } from "../money.js";
import { dataTable } from "../tables.js";
import { statementBadges, statementRows } from "./statement-list.js";

const MADE = {
  created: "已生成本月结算单（草稿）。请核对数字后确认。",
  recomputed: "已按最新记录重新核算本月结算单。",
  adjusted: "已生成调整结算单（草稿），确认后计入本月结算。",
};

function heading(s) {
  return `${s.month_label}${s.kind === "adjustment" ? "调整结算单" : "结算单"}`;
}

export async function statementPage(root, context) {
  const { match, params, setTitle } = context;
  setTitle("结算单");
  let statement;
  try {
    statement = await api.get(`/api/statements/${match[1]}`);
  } catch (error) {
    fill(
      root,
      h("a", { class: "back", href: "#/contracts" }, "‹ 购买服务合同"),
      h("h1", { tabindex: "-1" }, "结算单"),
      notice("error", error.message),
      h("a", { class: "button", href: "#/" }, "返回首页"),
    );
    return;
  }
  await render(root, statement, context, MADE[params.get("made")] || "");
}

async function basisWords(s) {
  const b = s.basis;
  const parts = [`覆盖对象 ${count(b.covered)} 个，本月受服务 ${count(b.served)} 个`];
  if (b.verified_visits || b.excluded_visits) {
    parts.push(`核验通过的上门服务 ${count(b.verified_visits)} 次，未计费 ${count(b.excluded_visits)} 次（驳回、未审核、扫码失败或严重疑点）`);
  }
  if (b.bed_days) parts.push(`在院床日 ${count(b.bed_days)} 个`);
  const unpriced = Object.entries(b.unpriced_services || {});
  if (unpriced.length > 0) {
    const labels = await api
      .get("/api/contracts/vocabulary")
      .then((v) => Object.fromEntries(v.services.map((service) => [service.code, service.label])))
      .catch(() => ({}));
    parts.push(`合同未采购、不计费的服务：${unpriced.map(([code, n]) => `${labels[code] || code} ${n} 次`).join("、")}`);
  }
  return `${parts.join("；")}。`;
}

async function render(root, s, context, done = "") {
  if (done) window.scrollTo(0, 0); // the outcome is said at the top
  context.setTitle(`${heading(s)} · ${s.code}`);
  const actions = actionPanel(root, s, context);
  fill(
    root,
    h("a", { class: "back", href: `#/contracts/${s.contract_id}` }, `‹ 合同 ${s.contract_code}`),
    h(
      "header",
      { class: "page-header" },
      h("h1", { tabindex: "-1" }, heading(s)),
      h("p", { class: "visit-badges" }, h("span", { class: "code" }, s.code), statementBadges(s)),
    ),
    done && notice("success", done),
    s.seal_intact === false && notice("error", "警告：本结算单的数字与确认时的数字摘要不一致，可能被改动，请联系系统管理员核查。"),
    s.status === "draft" && !s.month_complete && notice("info", "本月尚未结束：确认后若再有核验通过的服务，需生成调整结算单。"),
    h(
      "section",
      { class: "card statement-total-card", "aria-labelledby": "statement-total" },
      h("div", {}, h("h2", { id: "statement-total" }, "应付金额"), h("p", { class: "statement-total" }, yuan(s.total_fen))),
      facts([
        ["服务金额", yuan(s.gross_fen)],
        ["扣减", s.deductions_fen ? `-${yuan(s.deductions_fen)}` : yuan(0)],
        ["应付金额", h("strong", {}, yuan(s.total_fen))],
      ]),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "statement-lines" },
      h("h2", { id: "statement-lines" }, "服务明细"),
      dataTable({
        label: "服务明细",
        className: "statement-lines",
        columns: [
          { label: "服务项目" },
          { label: "单位" },
          { label: "数量", num: true },
          { label: "单价", num: true },
          { label: "金额", num: true },
        ],
        rows: s.lines.map((line) => [line.description, line.unit, count(line.quantity), yuan(line.unit_value_fen), yuan(line.amount_fen)]),
        foot: [["服务金额合计", yuan(s.gross_fen)]],
        empty: "本月无计费服务。",
      }),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "statement-deductions" },
      h("h2", { id: "statement-deductions" }, "扣减"),
      dataTable({
        label: "扣减",
        className: "statement-deductions",
        columns: [{ label: "事由" }, { label: "依据" }, { label: "核定金额", num: true }, { label: "本单扣减", num: true }],
        rows: s.deductions.map((d) => [d.reason, d.reference, yuan(d.amount_fen), yuan(d.applied_fen)]),
        foot: [["扣减合计", yuan(s.deductions_fen)]],
        empty: "本月无扣减",
      }),
    ),
    actions,
    h(
      "section",
      { class: "card", "aria-labelledby": "statement-facts" },
      h("h2", { id: "statement-facts" }, "结算信息"),
      facts(
        [
          ["合同", h("a", { href: `#/contracts/${s.contract_id}` }, `${s.contract_title}（${s.contract_code}）`)],
          ["服务机构", s.supplier_name],
          ["结算月份", s.month_label],
          ["类别", s.kind_label],
          ["状态", s.status_label],
          ["核算", `${s.computed_by_name} · ${formatDateTime(s.computed_at)} · 第 ${s.revision} 版`],
          s.confirmed_at && ["确认", `${s.confirmed_by_name} · ${formatDateTime(s.confirmed_at)}`],
          s.paid_on && ["支付", `${formatDate(s.paid_on)} · 凭证号 ${s.payment_reference}${s.paid_by_name ? ` · ${s.paid_by_name}登记` : ""}`],
          s.kind === "adjustment" && ["调整原因", s.rationale || "—"],
          s.adjusts_id && ["原结算单", h("a", { href: `#/statements/${s.adjusts_id}` }, "查看原结算单")],
          s.note && ["备注", s.note],
        ].filter(Boolean),
      ),
      h("p", { class: "basis muted" }, "核算依据：", h("span", { class: "basis-words" }, "…")),
    ),
    s.chain.length > 1 &&
      h(
        "section",
        { class: "card", "aria-labelledby": "statement-chain" },
        h("h2", { id: "statement-chain" }, `${s.month_label}的全部结算单`),
        statementRows(s.chain, { showContract: false }),
        h("p", {}, `已确认合计 ${yuan(s.settled_total_fen)}`),
      ),
  );
  const words = root.querySelector(".basis-words");
  basisWords(s).then((text) => {
    if (words) words.textContent = text;
  });
}

// --- what can be done now ------------------------------------------------------------------------

function actionPanel(root, s, context) {
  const message = h("div", { class: "form-message", "aria-live": "polite" });
  const report = problems(message);
  const refused = (error) => report.show(error);
  const busy = (button, on) => {
    button.disabled = on;
  };

  const buttons = [];
  if (s.can_recompute) {
    const recompute = h("button", { type: "button", class: "button" }, "重新核算");
    recompute.addEventListener("click", async () => {
      report.clear();
      busy(recompute, true);
      try {
        const updated = await api.post(`/api/statements/${s.id}/recompute`);
        await render(root, updated, context, `已按最新记录重新核算（第 ${updated.revision} 版）。`);
      } catch (error) {
        refused(error);
        busy(recompute, false);
      }
    });
    buttons.push(recompute);
  }
  const confirmBox = h("div", {});
  if (s.can_confirm) {
    const confirm = h("button", { type: "button", class: "button button-primary" }, "确认结算单");
    confirm.addEventListener("click", () => {
      report.clear();
      const yes = h("button", { type: "button", class: "button button-primary" }, "确认无误");
      const no = h("button", { type: "button", class: "button" }, "取消");
      no.addEventListener("click", () => fill(confirmBox));
      yes.addEventListener("click", async () => {
        busy(yes, true);
        busy(no, true);
        try {
          // The revision looked at: numbers recomputed since are refused, not confirmed unseen.
          const updated = await api.post(`/api/statements/${s.id}/confirm`, { json: { revision: s.revision } });
          await render(root, updated, context, "结算单已确认：数字已锁定，不再改变。");
        } catch (error) {
          fill(confirmBox);
          refused(error);
        }
      });
      fill(
        confirmBox,
        h(
          "div",
          { class: "confirm", role: "alertdialog", "aria-label": "确认结算单" },
          h("p", { class: "confirm-title" }, `确认 ${s.code}（第 ${s.revision} 版），应付 ${yuan(s.total_fen)}？`),
          h("p", {}, "确认后本结算单的数字不再改变；如需更正，只能生成调整结算单。"),
          h("div", { class: "actions" }, yes, no),
        ),
      );
      yes.focus();
    });
    buttons.unshift(confirm); // the one action a draft is waiting for comes first
  }

  return h(
    "section",
    { class: "card statement-actions", "aria-labelledby": "statement-actions" },
    h("h2", { id: "statement-actions" }, "操作"),
    !s.can_recompute && !s.can_confirm && !s.can_pay && !s.can_adjust && h("p", { class: "muted" }, statusHint(s)),
    buttons.length > 0 && h("div", { class: "actions" }, buttons),
    confirmBox,
    message,
    h(
      "div",
      { class: "actions statement-outputs" },
      h("a", { class: "button", href: s.print_url, target: "_blank", rel: "noopener" }, "打印"),
      h("a", { class: "button", href: s.csv_url, download: `${s.code}.csv` }, "导出 CSV"),
    ),
    s.can_pay && payForm(root, s, context),
    s.can_adjust && adjustForm(s, context),
  );
}

function statusHint(s) {
  if (s.status === "paid") return "本结算单已支付，数字不再改变。";
  if (s.status === "confirmed") return "本结算单已确认，数字不再改变；支付由市民政局登记。";
  return "草稿结算单由县区民政局或市民政局核对确认。";
}

function payForm(root, s, context) {
  const paidOn = h("input", { id: "pay-date", name: "paid_on", type: "date", value: shanghaiIsoDate(), max: shanghaiIsoDate() });
  const reference = h("input", { id: "pay-reference", name: "payment_reference", maxlength: "64", autocomplete: "off" });
  const box = h("div", { class: "form-message" });
  const report = problems(box);
  const dateField = labelled("支付日期", paidOn);
  const referenceField = labelled("支付凭证号", reference);
  report.claim("paid_on", paidOn, dateField.error);
  report.claim("payment_reference", reference, referenceField.error);
  const submit = h("button", { type: "submit", class: "button button-primary" }, "登记支付");
  return h(
    "form",
    {
      class: "form pay-form",
      novalidate: true,
      on: {
        submit: async (event) => {
          event.preventDefault();
          report.clear();
          submit.disabled = true;
          try {
            const updated = await api.post(`/api/statements/${s.id}/pay`, {
              json: { paid_on: paidOn.value, payment_reference: reference.value.trim() },
            });
            await render(root, updated, context, `已登记支付：${formatDate(updated.paid_on)}，凭证号 ${updated.payment_reference}。`);
          } catch (error) {
            report.show(error);
            submit.disabled = false;
          }
        },
      },
    },
    h("h3", {}, "登记支付"),
    ...dateField.nodes,
    ...referenceField.nodes,
    box,
    submit,
  );
}

function adjustForm(s, { navigate }) {
  const rationale = h("textarea", { id: "adjust-rationale", name: "rationale", rows: "3", maxlength: "1000" });
  const box = h("div", { class: "form-message" });
  const report = problems(box);
  const field = labelled("调整原因", rationale, { hint: "如：补录经审核通过的服务记录" });
  report.claim("rationale", rationale, field.error);
  const submit = h("button", { type: "submit", class: "button" }, "生成调整结算单");
  return disclosure(
    "更正已确认的月份",
    h(
      "form",
      {
        class: "form adjust-form",
        novalidate: true,
        on: {
          submit: async (event) => {
            event.preventDefault();
            report.clear();
            submit.disabled = true;
            try {
              const adjusted = await api.post(`/api/statements/${s.id}/adjust`, { json: { rationale: rationale.value.trim() } });
              navigate(`/statements/${adjusted.id}?made=adjusted`);
            } catch (error) {
              report.show(error);
              submit.disabled = false;
            }
          },
        },
      },
      h("p", { class: "muted" }, "按现有记录重新核算本月，与已确认结算单的差额生成调整结算单（草稿）。"),
      ...field.nodes,
      box,
      submit,
    ),
  );
}
