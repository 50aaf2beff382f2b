// A provider's people: who works there, how many households each cares for, and adding a
// field worker's account.

import { api } from "../api.js";
import { fill, h, notice } from "../dom.js";
import { managesProvider } from "../roles.js";

function staffRow(person) {
  return h(
    "li",
    { class: "staff-row" },
    h("p", { class: "staff-name" }, h("strong", {}, person.display_name), h("span", { class: "badge" }, person.role_label), !person.active && h("span", { class: "badge flag-warning" }, "已停用")),
    h("p", { class: "muted" }, h("span", { class: "code" }, person.username), person.phone && ` · ${person.phone}`),
    person.role === "field_worker" &&
      h("p", {}, h("a", { class: "link", href: `#/visits?worker=${person.account_id}` }, `负责 ${person.household_count} 户 · 查看服务记录`)),
  );
}

function field(label, input, errorId) {
  return [h("label", { class: "field" }, h("span", { class: "field-label" }, label), input), h("p", { class: "field-error", id: errorId })];
}

function addForm(onAdded) {
  const inputs = {
    display_name: h("input", { name: "display_name", maxlength: "32", autocomplete: "off", "aria-describedby": "staff-display_name-error" }),
    username: h("input", { name: "username", maxlength: "64", autocapitalize: "none", spellcheck: "false", autocomplete: "off", "aria-describedby": "staff-username-error" }),
    password: h("input", { name: "password", type: "password", minlength: "8", autocomplete: "new-password", "aria-describedby": "staff-password-error" }),
    phone: h("input", { name: "phone", type: "tel", maxlength: "20", autocomplete: "off", "aria-describedby": "staff-phone-error" }),
  };
  const message = h("div", { class: "form-message" });
  const submit = h("button", { type: "submit", class: "button button-primary button-wide" }, "添加社工");
  const errors = {};
  const form = h(
    "form",
    { class: "form", novalidate: true },
    h("h2", {}, "添加社工 / 护理员"),
    ...field("姓名", inputs.display_name, "staff-display_name-error"),
    ...field("用户名（小写字母、数字）", inputs.username, "staff-username-error"),
    ...field("初始密码（至少 8 位）", inputs.password, "staff-password-error"),
    ...field("手机号（可不填）", inputs.phone, "staff-phone-error"),
    message,
    submit,
  );
  for (const name of Object.keys(inputs)) errors[name] = form.querySelector(`#staff-${name}-error`);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    fill(message);
    for (const [name, input] of Object.entries(inputs)) {
      errors[name].textContent = "";
      input.removeAttribute("aria-invalid");
    }
    submit.disabled = true;
    try {
      const added = await api.post("/api/staff", {
        json: {
          display_name: inputs.display_name.value.trim(),
          username: inputs.username.value.trim(),
          password: inputs.password.value,
          phone: inputs.phone.value.trim(),
        },
      });
      for (const input of Object.values(inputs)) input.value = "";
      onAdded(added);
    } catch (error) {
      for (const [name, input] of Object.entries(inputs)) {
        const text = error.fieldMessage(name);
        if (text) {
          errors[name].textContent = text;
          input.setAttribute("aria-invalid", "true");
        }
      }
      fill(message, notice("error", error.message));
    } finally {
      submit.disabled = false;
    }
  });
  return h("section", { class: "card" }, form);
}

export async function staffPage(root, { account, setTitle }) {
  setTitle("人员");
  if (!managesProvider(account)) {
    fill(root, h("h1", { tabindex: "-1" }, "人员"), notice("info", "只有服务机构负责人管理人员。"), h("a", { class: "button", href: "#/" }, "返回首页"));
    return;
  }
  const list = h("div", { class: "staff" }, h("p", { class: "loading" }, "正在加载…"));
  const added = h("div", { "aria-live": "polite" });

  async function load() {
    try {
      const staff = await api.get("/api/staff");
      fill(list, h("ol", { class: "staff-rows" }, staff.map(staffRow)));
    } catch (error) {
      fill(list, notice("error", error.message));
    }
  }

  fill(
    root,
    h("a", { class: "back", href: "#/" }, "‹ 首页"),
    h("h1", { tabindex: "-1" }, "人员"),
    h("p", { class: "muted" }, "改派服务对象：在“我负责的户”中打开该户，选择新的负责社工。"),
    list,
    added,
    addForm((person) => {
      fill(added, notice("success", `已添加社工“${person.display_name}”，用户名 ${person.username}。请将初始密码告知本人。`));
      load();
    }),
  );
  await load();
}
