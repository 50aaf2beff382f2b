// A background job on screen: a progress bar fed by GET /api/jobs/{id}, the job's own note,
// and its file to download when it is done. Card sheets use it; exports and reports will too.

import { api } from "./api.js";
import { fill, h, notice } from "./dom.js";

const FIRST_POLL_MS = 600;
const LONGEST_POLL_MS = 4000;

/**
 * The element showing `job` (as answered by the POST that started it) until it finishes.
 * Polling stops by itself when the element leaves the page. Options: title, downloadLabel,
 * describe(result) → text shown with the download link, onFinish(job).
 */
export function jobProgress(job, { title = "正在生成", downloadLabel = "下载文件", describe, onFinish } = {}) {
  const bar = h("progress", { class: "job-bar", max: "100", value: "0", "aria-labelledby": `job-${job.id}-title` });
  const percent = h("span", { class: "job-percent" });
  const state = h("span", { class: "job-state" });
  const note = h("p", { class: "job-note muted" });
  const outcome = h("div", { class: "job-outcome" });
  const element = h(
    "section",
    { class: "job card", "aria-busy": "true" },
    h("h2", { id: `job-${job.id}-title` }, title),
    h("div", { class: "job-line" }, bar, percent),
    h("p", { class: "job-status", role: "status" }, state),
    note,
    outcome,
  );

  function show(current) {
    bar.value = current.progress;
    percent.textContent = `${current.progress}%`;
    state.textContent = current.status_label;
    note.textContent = current.note && current.note !== current.status_label ? current.note : "";
  }

  function finish(current) {
    element.removeAttribute("aria-busy");
    if (current.status === "succeeded") {
      bar.value = 100;
      percent.textContent = "100%";
      fill(
        outcome,
        notice("success", describe ? describe(current.result || {}) : "已完成。"),
        current.download_url && h("a", { class: "button button-primary button-wide", href: current.download_url, download: "" }, downloadLabel),
      );
    } else {
      fill(outcome, notice("error", current.error_message || "任务失败，请稍后重试。"));
    }
    if (onFinish) onFinish(current);
  }

  let wait = FIRST_POLL_MS;
  let started = false;
  async function poll() {
    if (started && !element.isConnected) return; // the page was left
    started = true;
    let current;
    try {
      current = await api.get(`/api/jobs/${job.id}`);
      fill(outcome);
    } catch (error) {
      if (error.status !== 0 && error.status < 500) {
        element.removeAttribute("aria-busy");
        fill(outcome, notice("error", error.message));
        return;
      }
      fill(outcome, notice("info", "网络中断，正在重新查询进度…"));
      wait = Math.min(wait * 2, LONGEST_POLL_MS);
      setTimeout(poll, wait);
      return;
    }
    show(current);
    if (current.status === "succeeded" || current.status === "failed") {
      finish(current);
      return;
    }
    wait = Math.min(wait * 1.5, LONGEST_POLL_MS);
    setTimeout(poll, wait);
  }

  show(job);
  if (job.status === "succeeded" || job.status === "failed") finish(job);
  else setTimeout(poll, FIRST_POLL_MS);
  return element;
}
