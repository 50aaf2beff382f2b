// The 证据包 (evidence bundle) of a household, a provider or a contract: choose a period, the
// server packs the visits, flags, photos, findings and agreements into one ZIP in the
// background (a progress bar), and the finished file is downloaded from its own audited address.

import { api } from "./api.js";
import { fill, h, shanghaiIsoDate } from "./dom.js";
import { labelled, problems } from "./forms.js";
import { jobProgress } from "./jobs.js";

const SUBJECT_FIELDS = { household: "household_id", organisation: "organisation_id", contract: "contract_id" };
const CONTENTS = "服务记录和疑点（CSV，可用 Excel / WPS 打开）、照片、违约发现及审核结论、服务协议文本和一页摘要";

/**
 * A card with the bundle's period and its button. `subject` is "household", "organisation" or
 * "contract", `id` the object's id, `name` what the progress bar calls it; `first`/`last`
 * (YYYY-MM-DD) preset the period, by default this month so far.
 */
export function bundleSection({ subject, id, name, first = "", last = "" }) {
  const today = shanghaiIsoDate();
  const prefix = `bundle-${subject}-${id}`;
  const firstInput = h("input", { id: `${prefix}-first`, name: "first_day", type: "date", value: first || `${today.slice(0, 8)}01`, max: today, required: true });
  const lastInput = h("input", { id: `${prefix}-last`, name: "last_day", type: "date", value: last || today, required: true });
  const firstField = labelled("开始日期", firstInput);
  const lastField = labelled("结束日期", lastInput, { hint: "最长一年" });
  const message = h("div", { class: "form-message" });
  const progress = h("div", { class: "job-area" });
  const download = h("div", { class: "bundle-download" });
  const submit = h("button", { type: "submit", class: "button button-primary button-wide" }, "生成证据包");
  const shown = problems(message);
  shown.claim("first_day", firstInput, firstField.error);
  shown.claim("last_day", lastInput, lastField.error);

  function finished(job) {
    submit.disabled = false;
    const url = job.status === "succeeded" && job.result && job.result.download_url;
    if (url) {
      fill(
        download,
        h("a", { class: "button button-primary button-wide", href: url, download: job.result.filename || "" }, "下载证据包（ZIP）"),
        h("p", { class: "field-hint muted" }, "下载记入审计日志；只有您本人可以下载。"),
      );
    }
  }

  async function send(event) {
    event.preventDefault();
    shown.clear();
    fill(download);
    submit.disabled = true;
    try {
      const job = await api.post("/api/evidence-bundles", {
        json: { [SUBJECT_FIELDS[subject]]: Number(id), first_day: firstInput.value, last_day: lastInput.value },
      });
      fill(
        progress,
        jobProgress(job, {
          title: `证据包：${name}`,
          describe: (r) => `已打包服务记录 ${r.visits} 条、照片 ${r.photos} 张、违约发现 ${r.findings} 条、服务协议 ${r.agreements} 份。`,
          onFinish: finished,
        }),
      );
    } catch (error) {
      shown.show(error);
      submit.disabled = false;
    }
  }

  const form = h(
    "form",
    { class: "form bundle-form", novalidate: true, on: { submit: send } },
    h("div", { class: "form-pair" }, firstField.nodes, lastField.nodes),
    message,
    submit,
  );
  return h(
    "section",
    { class: "card bundle", "aria-labelledby": `${prefix}-title` },
    h("h2", { id: `${prefix}-title` }, "证据包"),
    h("p", { class: "muted" }, `一个 ZIP 文件：${CONTENTS}。只含您有权查看的记录。`),
    form,
    progress,
    download,
  );
}
