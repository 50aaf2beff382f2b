// The browser app: who is signed in, which page the address names, and the frame around it.

import { api, setCsrfToken, whenSessionEnds } from "./api.js";
import { fill, h } from "./dom.js";
import { homePage } from "./pages/home.js";
import { householdListPage } from "./pages/household-list.js";
import { householdPage } from "./pages/household.js";
import { importPage } from "./pages/import.js";
import { loginPage } from "./pages/login.js";

const APP_NAME = "特困人员照料服务平台";

const ROUTES = [
  { pattern: /^\/login$/, page: loginPage, public: true },
  { pattern: /^\/$/, page: homePage },
  { pattern: /^\/households$/, page: householdListPage },
  { pattern: /^\/households\/(\d+)$/, page: householdPage },
  { pattern: /^\/import$/, page: importPage },
];

const view = document.getElementById("view");
const accountBar = document.getElementById("account");
const accountName = document.getElementById("account-name");
const logoutButton = document.getElementById("logout");

let account = null;

function where() {
  const [path, query = ""] = (location.hash.replace(/^#/, "") || "/").split("?");
  return { path: path || "/", params: new URLSearchParams(query) };
}

function navigate(path) {
  if (location.hash === `#${path}`) route();
  else location.hash = `#${path}`;
}

function loginAddress() {
  const { path, params } = where();
  if (path === "/login") return `/login?${params}`;
  const back = location.hash.replace(/^#/, "");
  return back && back !== "/" ? `/login?next=${encodeURIComponent(back)}` : "/login";
}

function signedIn(who) {
  account = who;
  setCsrfToken(who.csrf_token);
  accountName.textContent = who.display_name;
  accountBar.hidden = false;
}

function signedOut() {
  account = null;
  setCsrfToken("");
  accountName.textContent = "";
  accountBar.hidden = true;
}

// Any 401 means the session is gone (expired, logged out elsewhere): back to the login page.
whenSessionEnds(() => {
  if (!account) return;
  signedOut();
  navigate(loginAddress());
});

logoutButton.addEventListener("click", async () => {
  logoutButton.disabled = true;
  try {
    await api.post("/api/auth/logout");
  } catch {
    // The session is dropped on this side whatever the server answered.
  }
  logoutButton.disabled = false;
  signedOut();
  navigate("/login");
});

function notFoundPage(root) {
  fill(
    root,
    h("h1", { tabindex: "-1" }, "页面不存在"),
    h("p", {}, "您打开的地址不存在。"),
    h("a", { class: "button", href: "#/" }, "返回首页"),
  );
  return "页面不存在";
}

function route() {
  const { path, params } = where();
  const found = ROUTES.map((r) => ({ ...r, match: path.match(r.pattern) })).find((r) => r.match);
  if (found && !found.public && !account) return navigate(loginAddress());
  if (found && found.public && account) return navigate(params.get("next") || "/");

  // A fresh root per visit: a slow answer for a page already left writes into a detached node.
  const root = h("section", { class: "page" }, h("p", { class: "loading" }, "正在加载…"));
  view.replaceChildren(root);
  const context = {
    account,
    params,
    match: found ? found.match : null,
    navigate,
    signedIn: (who) => {
      signedIn(who);
      navigate(params.get("next") || "/");
    },
    setTitle: (title) => {
      document.title = `${title} · ${APP_NAME}`;
    },
  };
  const page = found ? found.page : notFoundPage;
  Promise.resolve(page(root, context)).then(() => {
    if (root.isConnected) root.querySelector("h1")?.focus({ preventScroll: true });
  });
  window.scrollTo(0, 0);
}

async function start() {
  try {
    signedIn(await api.get("/api/auth/me"));
  } catch {
    signedOut(); // 401: not logged in (or the server is unreachable: the login page says so on submit)
  }
  window.addEventListener("hashchange", route);
  route();
}

start();
