// Registering many households at once from the bureau's CSV template: all rows or none.

import { api } from "../api.js";
import { fill, h, notice } from "../dom.js";
import { isBureau } from "../roles.js";

function rowErrorTable(rows) {
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "row-errors" },
      h("caption", { class: "visually-hidden" }, "逐行错误"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "行号"), h("th", { scope: "col" }, "列"), h("th", { scope: "col" }, "错误"))),
      h(
        "tbody",
        {},
        rows.map((row) => h("tr", {}, h("td", { class: "code" }, String(row.row)), h("td", {}, row.column), h("td", {}, row.message))),
      ),
    ),
  );
}

export function importPage(root, { account, setTitle }) {
  setTitle("CSV 导入");
  if (!isBureau(account)) {
    fill(
      root,
      h("h1", { tabindex: "-1" }, "CSV 导入"),
      notice("error", "只有民政部门和乡镇（街道）经办人可以导入分散供养户。"),
      h("a", { class: "button", href: "#/" }, "返回首页"),
    );
    return;
  }

  const fileName = h("span", { class: "file-name muted" }, "未选择文件");
  const file = h("input", {
    id: "import-file",
    type: "file",
    name: "data",
    accept: ".csv,text/csv",
    on: {
      change: () => {
        fileName.textContent = file.files.length ? file.files[0].name : "未选择文件";
      },
    },
  });
  const submit = h("button", { type: "submit", class: "button button-primary button-wide" }, "上传并导入");
  const outcome = h("div", { class: "import-outcome", "aria-live": "polite" });

  async function upload(event) {
    event.preventDefault();
    if (!file.files.length) {
      fill(outcome, notice("error", "请先选择要导入的 CSV 文件。"));
      return;
    }
    const form = new FormData();
    form.append("data", file.files[0]);
    submit.disabled = true;
    submit.textContent = "正在导入…";
    fill(outcome);
    try {
      const result = await api.post("/api/households/import", { form });
      fill(
        outcome,
        notice("success", `已导入 ${result.imported} 户。`),
        h("a", { class: "button", href: "#/households" }, "查看分散供养户"),
      );
      file.value = "";
      fileName.textContent = "未选择文件";
    } catch (error) {
      fill(outcome, notice("error", error.message), error.rows.length > 0 && rowErrorTable(error.rows));
    } finally {
      submit.disabled = false;
      submit.textContent = "上传并导入";
    }
  }

  fill(
    root,
    h("h1", { tabindex: "-1" }, "CSV 导入分散供养户"),
    h(
      "ol",
      { class: "steps" },
      h(
        "li",
        {},
        h("p", {}, "下载导入模板，按中文列名逐行填写（一行一户）。"),
        h("a", { class: "button", href: "/api/households/import-template.csv", download: "分散供养户导入模板.csv" }, "下载导入模板"),
      ),
      h("li", {}, h("p", {}, "保存为 UTF-8 编码的 CSV 文件后上传。任何一行有误，全部不导入，请按错误列表修改后重新上传。")),
    ),
    h(
      "form",
      { class: "form card", novalidate: true, on: { submit: upload } },
      h(
        "div",
        { class: "field" },
        h("span", { class: "field-label", id: "import-file-label" }, "CSV 文件"),
        h(
          "div",
          { class: "file-picker" },
          file,
          h("label", { class: "button", for: "import-file", id: "import-file-button" }, "选择文件"),
          fileName,
        ),
      ),
      submit,
    ),
    outcome,
  );
}
