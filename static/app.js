// The browser app: who is signed in, which page the address names, and the frame around it.

import { api, setCsrfToken, whenSessionEnds } from "./api.js";
import { fill, h } from "./dom.js";
import { forgetToday } from "./fieldwork.js";
import { setOutboxAccount, watchOutbox } from "./outbox.js";
import { householdAgreementPage } from "./pages/agreement.js";
import { budgetPage } from "./pages/budget.js";
import { cardPrintPage } from "./pages/card-print.js";
import { handoverPage, wardRoundPage } from "./pages/care-home.js";
import { checkinPage } from "./pages/checkin.js";
import { contractCoveragePage } from "./pages/contract-coverage.js";
import { contractListPage } from "./pages/contract-list.js";
import { contractPage } from "./pages/contract.js";
import { coveragePage } from "./pages/coverage.js";
import { findingPage } from "./pages/finding.js";
import { findingListPage } from "./pages/findings.js";
import { homePage } from "./pages/home.js";
import { householdListPage } from "./pages/household-list.js";
import { householdPage } from "./pages/household.js";
import { importPage } from "./pages/import.js";
import { loginPage } from "./pages/login.js";
import { outboxPage } from "./pages/outbox.js";
import { oversightPage, scorecardListPage, scorecardPage } from "./pages/oversight.js";
import { residentPage, residentScanPage } from "./pages/resident.js";
import { samplePage, samplingPage } from "./pages/sampling.js";
import { staffPage } from "./pages/staff.js";
import { statementListPage } from "./pages/statement-list.js";
import { statementPage } from "./pages/statement.js";
import { visitDetailPage } from "./pages/visit-detail.js";
import { reviewQueuePage, visitListPage } from "./pages/visit-list.js";
import { visitPage } from "./pages/visit.js";
import { isFieldWorker } from "./roles.js";
import { cached, forget, remember } from "./store.js";

const APP_NAME = "特困人员照料服务平台";

const UUID = "([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})";
const ROUTES = [
  { pattern: /^\/login$/, page: loginPage, public: true },
  { pattern: /^\/$/, page: homePage },
  { pattern: /^\/households$/, page: householdListPage },
  { pattern: /^\/households\/(\d+)$/, page: householdPage },
  { pattern: /^\/households\/(\d+)\/agreement$/, page: householdAgreementPage },
  { pattern: /^\/findings$/, page: findingListPage },
  { pattern: /^\/findings\/(\d+)$/, page: findingPage },
  { pattern: /^\/import$/, page: importPage },
  { pattern: /^\/checkin$/, page: checkinPage },
  { pattern: new RegExp(`^/visit/${UUID}$`), page: visitPage },
  { pattern: /^\/outbox$/, page: outboxPage },
  { pattern: /^\/visits$/, page: visitListPage },
  { pattern: new RegExp(`^/visits/${UUID}$`), page: visitDetailPage },
  { pattern: /^\/review$/, page: reviewQueuePage },
  { pattern: /^\/staff$/, page: staffPage },
  { pattern: /^\/cards$/, page: cardPrintPage },
  { pattern: /^\/contracts$/, page: contractListPage },
  { pattern: /^\/contracts\/(\d+)$/, page: contractPage },
  { pattern: /^\/contracts\/(\d+)\/coverage$/, page: contractCoveragePage },
  { pattern: /^\/statements$/, page: statementListPage },
  { pattern: /^\/statements\/(\d+)$/, page: statementPage },
  { pattern: /^\/budget$/, page: budgetPage },
  { pattern: /^\/oversight$/, page: oversightPage },
  { pattern: /^\/scorecards$/, page: scorecardListPage },
  { pattern: /^\/scorecards\/(\d+)$/, page: scorecardPage },
  { pattern: /^\/coverage$/, page: coveragePage },
  { pattern: /^\/sampling$/, page: samplingPage },
  { pattern: /^\/sampling\/(\d+)$/, page: samplePage },
  { pattern: /^\/residents\/scan$/, page: residentScanPage },
  { pattern: new RegExp(`^/residents/(\\d+)(?:/incidents/${UUID})?$`), page: residentPage },
  { pattern: /^\/wards\/round$/, page: wardRoundPage },
  { pattern: /^\/wards\/handover$/, page: handoverPage },
];
// The account last signed in on this phone: a field worker opening the app without signal
// still sees the day's list and can record visits (the server checks the session on upload).
const LAST_ACCOUNT = "account";

const view = document.getElementById("view");
const accountBar = document.getElementById("account");
const accountName = document.getElementById("account-name");
const logoutButton = document.getElementById("logout");
const syncBar = document.getElementById("sync");

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
  syncBar.hidden = !isFieldWorker(who);
  setOutboxAccount(who);
  if (isFieldWorker(who)) remember(LAST_ACCOUNT, who).catch(() => {});
}

function signedOut() {
  account = null;
  setCsrfToken("");
  accountName.textContent = "";
  accountBar.hidden = true;
  syncBar.hidden = true;
  setOutboxAccount(null);
}

// 离线 / 待上传 N 条 / 全部已上传: always in sight of a field worker.
watchOutbox((status) => {
  let text;
  let kind;
  if (status.failed > 0) {
    text = `${status.failed} 条上传失败，点此处理`;
    kind = "failed";
  } else if (!status.online) {
    text = status.waiting > 0 ? `离线 · 待上传 ${status.waiting} 条` : "离线 · 没有待上传的记录";
    kind = "offline";
  } else if (status.waiting > 0) {
    text = `待上传 ${status.waiting} 条${status.sending ? " · 正在上传…" : ""}`;
    kind = "waiting";
  } else {
    text = "全部已上传";
    kind = "done";
  }
  syncBar.textContent = text;
  syncBar.className = `sync sync-${kind}`;
});

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
  // Unsent visits stay on the phone and go out at this worker's next login.
  if (account) await Promise.all([forget(LAST_ACCOUNT), forgetToday(account)]).catch(() => {});
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
    signedIn(await api.get("/api/auth/me", { timeout: 15_000 }));
  } catch (error) {
    const last = error.status === 0 ? await cached(LAST_ACCOUNT).catch(() => undefined) : undefined;
    if (last) signedIn(last.value); // no signal: carry on as the worker last signed in here
    else signedOut(); // 401: not logged in (or unreachable with nobody remembered: the login page says so)
  }
  window.addEventListener("hashchange", route);
  route();
}

// Installable and startable without signal where the browser has service workers (not all
// in-app browsers do: the app works without, it only cannot start offline there).
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch(() => {});
}

start();
