// 抽查回访: the county auditor draws a reproducible random sample of verified visits per provider,
// calls each household back (or visits again), and records what was found. A visit the household
// contradicts becomes a finding against the provider, shown here with a link to it.

import { api } from "../api.js";
import { facts, fill, formatDate, formatDateTime, h, notice, shanghaiIsoDate } from "../dom.js";
import { disclosure, labelled, problems } from "../forms.js";
import { bundleSection } from "../evidence-bundle.js";
import { drawsSamples, makesEvidenceBundles } from "../roles.js";
import { dataTable, pageNumber, pager } from "../tables.js";

const PAGE_SIZE = 20;

function refused(root) {
  fill(
    root,
    h("h1", { tabindex: "-1" }, "抽查回访"),
    notice("info", "只有县区民政局审核员和市民政局可以抽查服务记录。"),
    h("a", { class: "button", href: "#/" }, "返回首页"),
  );
}

function daysAgo(days) {
  return shanghaiIsoDate(new Date(Date.now() - days * 86_400_000));
}

function period(sample) {
  return `${formatDate(sample.first_day)} 至 ${formatDate(sample.last_day)}`;
}

// --- the list and the draw ------------------------------------------------------------------------

export async function samplingPage(root, { account, params, navigate, setTitle }) {
  setTitle("抽查回访");
  if (!drawsSamples(account)) return refused(root);
  const page = pageNumber(params);
  const formBox = h("div", {}, h("p", { class: "loading" }, "正在加载…"));
  const results = h("div", { class: "results" }, h("p", { class: "loading" }, "正在加载…"));
  fill(
    root,
    h("a", { class: "back", href: "#/" }, "‹ 首页"),
    h("h1", { tabindex: "-1" }, "抽查回访"),
    h(
      "p",
      { class: "muted" },
      "从已核验（计入结算）的服务记录中，按服务机构随机抽取若干条，电话回访或入户复核。记下随机种子，同样的条件可以重新抽出同样的记录。",
    ),
    formBox,
    h("h2", {}, "已抽取的样本"),
    results,
  );
  try {
    const providers = await api.get("/api/organisations?kind=provider&page_size=200");
    fill(formBox, drawForm(account, providers.items, navigate));
  } catch (error) {
    fill(formBox, notice("error", error.message));
  }
  let samples;
  try {
    samples = await api.get(`/api/samples?page=${page}&page_size=${PAGE_SIZE}`);
  } catch (error) {
    fill(results, notice("error", error.message));
    return;
  }
  const pages = Math.max(1, Math.ceil(samples.total / PAGE_SIZE));
  fill(
    results,
    samples.items.length === 0
      ? notice("info", "还没有抽取过样本。")
      : h("ol", { class: "sample-rows" }, samples.items.map(sampleRow)),
    samples.total > PAGE_SIZE && pager(page, pages, (target) => (target > 1 ? `/sampling?page=${target}` : "/sampling")),
  );
}

function sampleRow(sample) {
  const providers = sample.providers.filter((p) => p.drawn > 0).map((p) => p.organisation_name);
  return h(
    "li",
    {},
    h(
      "a",
      { class: "sample-row", href: `#/sampling/${sample.id}` },
      h("span", { class: "sample-row-title" }, `抽查 #${sample.id} · ${sample.region_name}`),
      h(
        "span",
        { class: "sample-row-badges" },
        h("span", { class: "badge" }, `已核实 ${sample.checked_count} / ${sample.drawn_count}`),
        sample.contradicted_count > 0 && h("span", { class: "badge flag-serious" }, `${sample.contradicted_count} 条不符`),
      ),
      h("span", { class: "sample-row-period" }, period(sample)),
      h("span", { class: "muted" }, providers.join("、") || "没有抽到服务记录"),
      h("span", { class: "muted" }, `种子 ${sample.seed} · ${sample.drawn_by_name} · ${formatDateTime(sample.drawn_at)}`),
    ),
  );
}

function drawForm(account, providers, navigate) {
  const today = shanghaiIsoDate();
  const first = h("input", { id: "sample-first", name: "first_day", type: "date", value: daysAgo(30), max: today, required: true });
  const last = h("input", { id: "sample-last", name: "last_day", type: "date", value: today, required: true });
  const size = h("input", { id: "sample-size", name: "per_provider", type: "number", inputmode: "numeric", min: "1", max: "100", value: "10", required: true });
  const seed = h("input", { id: "sample-seed", name: "seed", type: "text", autocomplete: "off", maxlength: "64", placeholder: "不填则自动生成" });
  const note = h("input", { id: "sample-note", name: "note", type: "text", maxlength: "300", placeholder: "如：第四季度电话回访" });
  const firstField = labelled("开始日期", first);
  const lastField = labelled("结束日期", last);
  const sizeField = labelled("每家服务机构抽取条数", size, { hint: "1–100 条" });
  const seedField = labelled("随机种子", seed, { hint: "字母、数字、- 或 _；重抽时填同一种子" });
  const noteField = labelled("备注（可不填）", note);
  const choices = providers.map((p) =>
    h("label", { class: "choice" }, h("input", { type: "checkbox", name: "organisation_ids", value: String(p.id) }), h("span", {}, p.name)),
  );
  const message = h("div", { class: "form-message" });
  const submit = h("button", { type: "submit", class: "button button-primary button-wide" }, "抽取");
  const shown = problems(message);
  shown.claim("first_day", first, firstField.error);
  shown.claim("last_day", last, lastField.error);
  shown.claim("per_provider", size, sizeField.error);
  shown.claim("seed", seed, seedField.error);
  shown.claim("note", note, noteField.error);

  async function send(event) {
    event.preventDefault();
    shown.clear();
    submit.disabled = true;
    const chosen = choices.map((c) => c.querySelector("input")).filter((i) => i.checked);
    const body = {
      first_day: first.value,
      last_day: last.value,
      per_provider: Number.parseInt(size.value, 10) || 0,
      organisation_ids: chosen.map((i) => Number(i.value)),
      note: note.value.trim(),
    };
    if (seed.value.trim()) body.seed = seed.value.trim();
    try {
      const sample = await api.post("/api/samples", { json: body });
      navigate(`/sampling/${sample.id}`);
    } catch (error) {
      shown.show(error);
      submit.disabled = false;
    }
  }

  return h(
    "form",
    { class: "form card sample-form", novalidate: true, on: { submit: send } },
    h("h2", {}, "抽取样本"),
    h("p", {}, `范围：${account.region_name || ""}`),
    h("fieldset", { class: "choices" }, h("legend", { class: "field-label" }, "服务机构（不选则为全部）"), choices),
    h("div", { class: "form-pair" }, firstField.nodes, lastField.nodes),
    sizeField.nodes,
    seedField.nodes,
    noteField.nodes,
    message,
    submit,
  );
}

// --- one sample ------------------------------------------------------------------------------------------

export async function samplePage(root, { account, match, setTitle }) {
  const id = match[1];
  setTitle(`抽查 #${id}`);
  const back = h("a", { class: "back", href: "#/sampling" }, "‹ 抽查回访");
  if (!drawsSamples(account)) return refused(root);
  let sample;
  let vocabulary;
  try {
    [sample, vocabulary] = await Promise.all([api.get(`/api/samples/${id}`), api.get("/api/samples/vocabulary")]);
  } catch (error) {
    fill(root, back, h("h1", { tabindex: "-1" }, `抽查 #${id}`), notice("error", error.message));
    return;
  }
  // The counts in the header follow the outcomes recorded below without reloading the page.
  const checked = h("span", { class: "sample-checked" });
  sample.recount = () => {
    const done = sample.visits.filter((v) => v.outcome);
    const contradicted = done.filter((v) => v.outcome === "contradicted").length;
    checked.textContent = `${done.length} 条，其中与记录不符 ${contradicted} 条`;
  };
  sample.recount();
  const byProvider = new Map();
  for (const visit of sample.visits) {
    if (!byProvider.has(visit.organisation_id)) byProvider.set(visit.organisation_id, []);
    byProvider.get(visit.organisation_id).push(visit);
  }
  fill(
    root,
    back,
    h("h1", { tabindex: "-1" }, `抽查 #${sample.id}`),
    h(
      "section",
      { class: "card", "aria-labelledby": "sample-basics" },
      h("h2", { id: "sample-basics" }, "抽查信息"),
      facts([
        ["区域", sample.region_name],
        ["期间", period(sample)],
        ["每家抽取", `${sample.per_provider} 条`],
        ["随机种子", h("span", { class: "code sample-seed" }, sample.seed)],
        ["总体", `${sample.population_size} 条有效服务记录`],
        ["抽中", `${sample.drawn_count} 条`],
        ["已核实", checked],
        ["抽取人", `${sample.drawn_by_name} · ${formatDateTime(sample.drawn_at)}`],
        sample.note && ["备注", sample.note],
      ].filter(Boolean)),
      disclosure("抽取方法与总体", method(sample)),
    ),
    sample.visits.length === 0 && notice("info", "该期间、该区域没有符合条件的有效服务记录。"),
    [...byProvider.entries()].map(([organisationId, visits]) => providerSection(account, sample, vocabulary, organisationId, visits)),
  );
}

function method(sample) {
  return h(
    "div",
    { class: "sample-method" },
    h("p", {}, sample.method),
    h("p", { class: "muted" }, `总体排序：${sample.ordering}`),
    dataTable({
      label: "各服务机构的总体",
      columns: [{ label: "服务机构" }, { label: "总体", num: true }, { label: "抽中", num: true }, { label: "总体摘要（SHA-256）" }],
      rows: sample.providers.map((p) => [p.organisation_name, String(p.population), String(p.drawn), h("span", { class: "code" }, p.digest.slice(0, 16))]),
      empty: "没有服务机构。",
    }),
    h("p", { class: "field-label" }, "总体查询（SQL）"),
    h("pre", { class: "code sample-query" }, sample.population_query),
  );
}

function providerSection(account, sample, vocabulary, organisationId, visits) {
  const provider = sample.providers.find((p) => p.organisation_id === organisationId);
  const name = visits[0].organisation_name;
  return h(
    "section",
    { class: "sample-provider", "aria-label": name },
    h("h2", {}, name),
    h("p", { class: "muted" }, `抽中 ${visits.length} 条 / 总体 ${provider ? provider.population : visits.length} 条`),
    h("ol", { class: "sample-visits" }, visits.map((visit) => visitItem(sample, vocabulary, visit))),
    makesEvidenceBundles(account) &&
      disclosure(
        "该机构的证据包",
        bundleSection({ subject: "organisation", id: organisationId, name, first: sample.first_day, last: sample.last_day }),
      ),
  );
}

function outcomeBadge(visit) {
  const kind = { confirmed: "flag-none", unconfirmed: "flag-warning", contradicted: "flag-serious" }[visit.outcome] || "";
  return h("span", { class: `badge outcome ${kind}`.trim() }, visit.outcome_label);
}

function visitItem(sample, vocabulary, visit) {
  const item = h("li", { class: "card sample-visit", "data-visit": visit.visit_id });
  renderItem(item, sample, vocabulary, visit);
  return item;
}

function renderItem(item, sample, vocabulary, visit, saved = "") {
  const names = visit.household_names.join("、") || "（无登记人员）";
  fill(
    item,
    h(
      "a",
      { class: "visit-row", href: `#/visits/${visit.visit_id}` },
      h("span", { class: "visit-row-names" }, names),
      h("span", { class: "visit-row-badges" }, outcomeBadge(visit)),
      h("span", { class: "visit-row-place muted" }, `${visit.village_name} · ${visit.household_code}`),
      h("span", { class: "visit-row-when" }, `${formatDateTime(visit.checkin_at)} · ${visit.duration_minutes === null ? "未签退" : `${visit.duration_minutes} 分钟`}`),
      h("span", { class: "visit-row-who muted" }, `${visit.worker_name} · ${visit.presence_label} · 照片 ${visit.photo_count} 张`),
      visit.services.length > 0 && h("span", { class: "muted" }, visit.services.join("、")),
    ),
    saved && notice("success", saved),
    visit.outcome && outcomeFacts(visit),
    sample.can_record && outcomeForm(item, sample, vocabulary, visit),
  );
}

function outcomeFacts(visit) {
  return h(
    "div",
    { class: "sample-outcome" },
    facts(
      [
        ["核实结果", `${visit.outcome_label}（${visit.method_label}）`],
        visit.note && ["核实情况", visit.note],
        ["登记", `${visit.recorded_by_name} · ${formatDateTime(visit.recorded_at)}`],
        visit.finding_id && [
          "违约发现",
          h("a", { class: "link finding-link", href: `#/findings/${visit.finding_id}` }, `违约发现 #${visit.finding_id}（${visit.finding_state_label}）`),
        ],
      ].filter(Boolean),
    ),
    visit.finding_problem && notice("info", visit.finding_problem),
  );
}

function outcomeForm(item, sample, vocabulary, visit) {
  const prefix = `outcome-${visit.visit_id}`;
  const radios = Object.entries(vocabulary.outcomes).map(([value, label]) =>
    h(
      "label",
      { class: "choice" },
      h("input", { type: "radio", name: `${prefix}-outcome`, value, checked: visit.outcome === value }),
      h("span", {}, label),
    ),
  );
  const method = h(
    "select",
    { id: `${prefix}-method`, name: "method" },
    Object.entries(vocabulary.methods).map(([value, label]) => h("option", { value, selected: visit.method === value }, label)),
  );
  const note = h("textarea", { id: `${prefix}-note`, name: "note", rows: "2", maxlength: "1000" }, visit.note);
  const methodField = labelled("核实方式", method);
  const noteField = labelled("核实情况", note, { hint: "“无法核实”和“与记录不符”须写明" });
  const outcomeError = h("p", { class: "field-error", id: `${prefix}-outcome-error` });
  const message = h("div", { class: "form-message" });
  const submit = h("button", { type: "submit", class: "button button-primary button-wide" }, visit.outcome ? "更正核实结果" : "保存核实结果");
  const shown = problems(message);
  shown.claim("method", method, methodField.error);
  shown.claim("note", note, noteField.error);

  async function send(event) {
    event.preventDefault();
    shown.clear();
    outcomeError.textContent = "";
    const chosen = radios.map((r) => r.querySelector("input")).find((i) => i.checked);
    if (!chosen) {
      outcomeError.textContent = "请选择核实结果。";
      return;
    }
    submit.disabled = true;
    try {
      const updated = await api.post(`/api/samples/${sample.id}/visits/${visit.visit_id}/outcome`, {
        json: { outcome: chosen.value, method: method.value, note: note.value.trim() },
      });
      const said = updated.finding_id && updated.outcome === "contradicted" ? `已保存，已形成违约发现 #${updated.finding_id}。` : "已保存。";
      sample.visits = sample.visits.map((v) => (v.visit_id === updated.visit_id ? updated : v));
      sample.recount();
      renderItem(item, sample, vocabulary, updated, said);
    } catch (error) {
      shown.show(error);
      submit.disabled = false;
    }
  }

  const form = h(
    "form",
    { class: "form outcome-form", novalidate: true, on: { submit: send } },
    h("fieldset", { class: "choices", "aria-describedby": outcomeError.id }, h("legend", { class: "field-label" }, "核实结果"), radios),
    outcomeError,
    methodField.nodes,
    noteField.nodes,
    message,
    submit,
  );
  return visit.outcome ? disclosure("更正核实结果", form) : form;
}
