// Printing door cards for a whole village or township: choose the place, the server draws the
// sheet in the background (cards for households that never had one are issued on the way),
// and the finished A4 page is downloaded and printed.

import { api } from "../api.js";
import { fill, h, notice } from "../dom.js";
import { jobProgress } from "../jobs.js";
import { issuesCards } from "../roles.js";

const LEVEL_LABELS = { city: "市", county: "区县", township: "乡镇（街道）", village: "村（社区）" };
const PRINTABLE = new Set(["township", "village"]);

async function children(regionId) {
  const page = await api.get(`/api/regions?parent_id=${regionId}&page_size=200`);
  return page.items;
}

export async function cardPrintPage(root, { account, setTitle }) {
  setTitle("门牌卡打印");
  if (!issuesCards(account)) {
    fill(root, h("h1", { tabindex: "-1" }, "门牌卡打印"), notice("error", "只有民政部门和乡镇（街道）经办人可以制作门牌卡。"), h("a", { class: "button", href: "#/" }, "返回首页"));
    return;
  }
  const pickers = h("div", { class: "region-pickers" });
  const chosenText = h("p", { class: "region-chosen", "aria-live": "polite" });
  const message = h("div", { class: "form-message" });
  const submit = h("button", { type: "submit", class: "button button-primary button-wide", disabled: true }, "生成打印页");
  const progress = h("div", { class: "job-area" });
  // The chain of chosen regions, from the account's own region down.
  const chain = [{ id: account.region_id, name: account.region_name, level: null }];

  function chosen() {
    return chain[chain.length - 1];
  }

  function showChosen() {
    const region = chosen();
    const printable = region.level && PRINTABLE.has(region.level);
    submit.disabled = !printable;
    chosenText.textContent = printable
      ? `将为“${region.name}”的全部分散供养户生成门牌卡（尚未制卡的户将首次制卡）。`
      : "请选择一个乡镇（街道）或村（社区）。";
  }

  async function addPicker(parent, depth) {
    let regions;
    try {
      regions = await children(parent.id);
    } catch (error) {
      fill(message, notice("error", error.message));
      return;
    }
    if (regions.length === 0) return;
    const level = regions[0].level;
    const select = h(
      "select",
      { id: `region-${depth}`, name: `region-${depth}` },
      h("option", { value: "" }, level === "village" ? "（整个乡镇，不选村）" : `请选择${LEVEL_LABELS[level] || "地区"}`),
      regions.map((region) => h("option", { value: String(region.id) }, region.name)),
    );
    const row = h("label", { class: "field region-picker" }, h("span", { class: "field-label" }, LEVEL_LABELS[level] || "地区"), select);
    pickers.append(row);
    select.addEventListener("change", async () => {
      // Everything below this picker belongs to the old choice.
      while (pickers.children.length > depth + 1) pickers.lastElementChild.remove();
      chain.length = depth + 1;
      const region = regions.find((r) => String(r.id) === select.value);
      if (region) chain.push(region);
      showChosen();
      if (region && region.level !== "village") await addPicker(region, depth + 1);
    });
  }

  const form = h(
    "form",
    {
      class: "form card",
      novalidate: true,
      on: {
        submit: async (event) => {
          event.preventDefault();
          const region = chosen();
          submit.disabled = true;
          fill(message);
          try {
            const job = await api.post("/api/cards/sheets", { json: { region_id: region.id } });
            fill(
              progress,
              jobProgress(job, {
                title: `${region.name}门牌卡`,
                downloadLabel: "下载门牌卡打印页",
                describe: (result) => `已生成 ${result.count} 张门牌卡。下载后用浏览器打开，按 A4 纸打印。`,
                onFinish: () => showChosen(),
              }),
            );
          } catch (error) {
            fill(message, notice("error", error.message));
            showChosen();
          }
        },
      },
    },
    h("p", {}, `管辖范围：${account.region_name || ""}`),
    pickers,
    chosenText,
    message,
    submit,
  );

  fill(
    root,
    h("a", { class: "back", href: "#/" }, "‹ 首页"),
    h("h1", { tabindex: "-1" }, "门牌卡打印"),
    h("p", { class: "muted" }, "每张门牌卡上有二维码，社工上门时扫码签到。补发单户门牌卡请在户详情页操作。"),
    form,
    progress,
  );
  try {
    // The account's own region sorts first in its subtree (its code prefixes all the others').
    const [own] = (await api.get("/api/regions?page_size=1")).items;
    if (own && own.id === account.region_id) chain[0] = own;
  } catch {
    // the pickers below still work; only printing the account's own region waits for a choice
  }
  showChosen();
  await addPicker(chain[0], 0);
}
