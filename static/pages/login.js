// Signing in with a username and password.

import { api } from "../api.js";
import { fill, h, notice } from "../dom.js";

export function loginPage(root, { signedIn, setTitle }) {
  setTitle("登录");
  const username = h("input", {
    id: "login-username",
    name: "username",
    autocomplete: "username",
    autocapitalize: "none",
    spellcheck: "false",
  });
  const password = h("input", {
    id: "login-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
  });
  const submit = h("button", { type: "submit", class: "button button-primary button-wide" }, "登录");
  const message = h("div", { class: "form-message" });

  async function logIn(event) {
    event.preventDefault();
    if (!username.value.trim() || !password.value) {
      fill(message, notice("error", "请输入用户名和密码。"));
      return;
    }
    submit.disabled = true;
    submit.textContent = "正在登录…";
    fill(message);
    try {
      signedIn(await api.post("/api/auth/login", { json: { username: username.value.trim(), password: password.value } }));
    } catch (error) {
      // The server's own words: wrong password, account locked for N minutes (429), etc.
      fill(message, notice("error", error.message));
      password.value = "";
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = "登录";
    }
  }

  fill(
    root,
    h(
      "div",
      { class: "login" },
      h("h1", { tabindex: "-1" }, "登录"),
      h("p", { class: "muted" }, "分散供养人员照料服务的购买、核验与审计"),
      h(
        "form",
        { class: "form", novalidate: true, on: { submit: logIn } },
        h("label", { class: "field" }, h("span", { class: "field-label" }, "用户名"), username),
        h("label", { class: "field" }, h("span", { class: "field-label" }, "密码"), password),
        message,
        submit,
      ),
    ),
  );
}
