// Checking in at a door: scan the household's card (live camera, a still photo, or the phone's
// own camera app opening the card's address), or say why it cannot be scanned; then the
// position and a photo, and the visit starts. Works without signal against the phone's list.

import { ApiError, api } from "../api.js";
import { locate, photoField, positionText } from "../evidence.js";
import { checkIn, myVisits, placeOf, today, vocabulary, withMyVisits } from "../fieldwork.js";
import { fill, h, notice } from "../dom.js";
import { cardToken, householdOfToken, readPhoto, scanCamera } from "../qr.js";
import { isFieldWorker } from "../roles.js";

const OFFLINE_CHECK = "离线核对：卡片将在恢复网络后由服务器验证。";

/** What the card says, checked by the server (online) or against the phone's list (offline). */
async function checkCard(token, households) {
  if (navigator.onLine) {
    try {
      const check = await api.get(`/api/cards/check?token=${encodeURIComponent(token)}`, { timeout: 15_000 });
      if (!check.ok) return { ok: false, message: check.message };
      const known = households.find((household) => household.household_id === check.household_id);
      return {
        ok: true,
        household: known || {
          household_id: check.household_id,
          names: check.names_masked,
          village_name: check.village_name,
          code: check.household_code,
          address: "",
        },
      };
    } catch (error) {
      if (!(error instanceof ApiError) || (error.status !== 0 && error.status < 500)) throw error;
      // no answer: fall through to the phone's own check
    }
  }
  const householdId = householdOfToken(token);
  if (householdId === null) return { ok: false, message: "这不是本平台的门牌卡二维码，请对准门牌卡重新扫描。" };
  const known = households.find((household) => household.household_id === householdId);
  if (!known) return { ok: false, message: "此卡片对应的户不在手机保存的服务名单中。请在有网络时重试，或选择“无法扫码”。" };
  return { ok: true, household: known, offline: true };
}

export async function checkinPage(root, { account, params, navigate, setTitle }) {
  setTitle("签到");
  if (!isFieldWorker(account)) {
    fill(
      root,
      h("h1", { tabindex: "-1" }, "签到"),
      notice("error", "只有社工 / 护理员可以签到服务。"),
      h("a", { class: "button", href: "#/" }, "返回首页"),
    );
    return;
  }

  const { households: listed } = await today(account).catch(() => ({ households: [] }));
  const households = withMyVisits(listed, await myVisits(account));
  const chosenId = Number.parseInt(params.get("household") || "", 10) || null;
  const state = { household: households.find((x) => x.household_id === chosenId) || null, presence: null, located: null };
  let stopCamera = null;

  const who = h("div", { class: "checkin-who" });
  const scanMessage = h("div", { class: "scan-message", "aria-live": "polite" });
  const video = h("video", { class: "scan-video", playsinline: true, muted: true, hidden: true, "aria-label": "摄像头画面" });
  const cameraButton = h("button", { type: "button", class: "button button-primary button-big" }, "打开摄像头扫码");
  const stillInput = h("input", { id: "scan-photo", type: "file", accept: "image/*", capture: "environment" });
  const manualButton = h("button", { type: "button", class: "button" }, "无法扫码");
  const manualPanel = h("div", { class: "manual", hidden: true });
  const scanActions = h(
    "div",
    { class: "scan-actions" },
    cameraButton,
    h("div", { class: "file-picker" }, stillInput, h("label", { class: "button button-big", for: "scan-photo" }, "拍照识别")),
    manualButton,
  );
  const scanHint = h("p", { class: "muted scan-hint" }, "也可以用微信“扫一扫”或手机相机扫描门牌卡，会直接打开本页面。");
  const scanSection = h(
    "section",
    { class: "card step", "aria-labelledby": "step-scan" },
    h("h2", { id: "step-scan" }, "第一步：扫描门牌卡"),
    who,
    h("div", { class: "scan-frame" }, video),
    scanMessage,
    scanActions,
    scanHint,
    manualPanel,
  );
  const stepTwo = h("section", { class: "card step", "aria-labelledby": "step-checkin", hidden: true });
  fill(root, h("a", { class: "back", href: "#/" }, "‹ 今日服务"), h("h1", { tabindex: "-1" }, "签到"), scanSection, stepTwo);

  function showWho() {
    if (!state.household) {
      fill(who, h("p", { class: "muted" }, "请扫描服务对象家门口的门牌卡。"));
      return;
    }
    const household = state.household;
    fill(
      who,
      h(
        "div",
        { class: "who" },
        h("p", { class: "who-names" }, household.names.join("、") || "（无登记人员）"),
        h("p", { class: "who-place muted" }, placeOf(household)),
        household.open_visit_id &&
          notice("info", "此户有尚未签退的服务。", h("a", { class: "link", href: `#/visit/${household.open_visit_id}` }, "继续该次服务")),
      ),
    );
  }

  function stopScanning() {
    if (stopCamera) stopCamera();
    stopCamera = null;
    video.hidden = true;
    cameraButton.textContent = "打开摄像头扫码";
  }

  async function scanned(text) {
    stopScanning();
    const token = cardToken(text);
    fill(scanMessage, h("p", { class: "loading" }, "正在核验门牌卡…"));
    let result;
    try {
      result = await checkCard(token, households);
    } catch (error) {
      fill(scanMessage, notice("error", error.message));
      return;
    }
    if (!root.isConnected) return;
    if (!result.ok) {
      fill(scanMessage, notice("error", result.message));
      return;
    }
    if (state.household && result.household.household_id !== state.household.household_id) {
      fill(
        scanMessage,
        notice(
          "error",
          `扫描的门牌卡是“${result.household.names.join("、")}”家的，不是所选服务对象的卡片。`,
          h("button", { type: "button", class: "button", on: { click: () => accept(result, token) } }, "改为为此户签到"),
        ),
      );
      return;
    }
    accept(result, token);
  }

  // Presence is settled: the scanning controls step aside, one tap brings them back.
  function settled(...message) {
    scanActions.hidden = true;
    scanHint.hidden = true;
    manualPanel.hidden = true;
    fill(
      scanMessage,
      ...message,
      h("button", { type: "button", class: "button button-small", on: { click: rescan } }, "重新扫码 / 更改"),
    );
    showStepTwo();
  }

  function rescan() {
    state.presence = null;
    stepTwo.hidden = true;
    scanActions.hidden = false;
    scanHint.hidden = false;
    fill(scanMessage);
  }

  function accept(result, token) {
    state.household = result.household;
    state.presence = { card_token: token };
    showWho();
    settled(notice("success", "门牌卡有效。", result.offline && h("span", { class: "muted" }, ` ${OFFLINE_CHECK}`)));
  }

  cameraButton.addEventListener("click", async () => {
    if (stopCamera) {
      stopScanning();
      return;
    }
    fill(scanMessage, h("p", { class: "loading" }, "正在打开摄像头…"));
    video.hidden = false;
    try {
      stopCamera = await scanCamera(video, scanned);
      cameraButton.textContent = "关闭摄像头";
      fill(scanMessage, h("p", { class: "muted" }, "请将门牌卡上的二维码放在画面中央。"));
    } catch (error) {
      video.hidden = true;
      fill(scanMessage, notice("error", error.message));
    }
  });

  stillInput.addEventListener("change", async () => {
    const [file] = stillInput.files;
    stillInput.value = "";
    if (!file) return;
    stopScanning();
    fill(scanMessage, h("p", { class: "loading" }, "正在识别照片中的二维码…"));
    let text = null;
    try {
      text = await readPhoto(file);
    } catch (error) {
      fill(scanMessage, notice("error", error.message || "照片无法读取，请重新拍摄。"));
      return;
    }
    if (!text) {
      fill(scanMessage, notice("error", "照片中没有识别到二维码。请靠近门牌卡、对准二维码重新拍摄，或选择“无法扫码”。"));
      return;
    }
    scanned(text);
  });

  manualButton.addEventListener("click", async () => {
    stopScanning();
    fill(scanMessage);
    manualPanel.hidden = false;
    fill(manualPanel, h("p", { class: "loading" }, "正在加载…"));
    let words;
    try {
      words = await vocabulary();
    } catch (error) {
      fill(manualPanel, notice("error", error.message));
      return;
    }
    showManual(words.manual_reasons);
  });

  function showManual(reasons) {
    const note = h("textarea", { id: "manual-note", name: "manual_note", maxlength: "300", rows: "3" });
    const noteError = h("p", { class: "field-error", id: "manual-note-error" });
    const reasonError = h("p", { class: "field-error" });
    const householdSelect =
      !state.household &&
      h(
        "select",
        { id: "manual-household", name: "household" },
        h("option", { value: "" }, "请选择服务对象"),
        households.map((household) =>
          h("option", { value: String(household.household_id) }, `${household.names.join("、")}（${household.village_name}）`),
        ),
      );
    const form = h(
      "form",
      { class: "form", novalidate: true },
      h("h3", {}, "无法扫码：请选择原因"),
      householdSelect && h("label", { class: "field" }, h("span", { class: "field-label" }, "服务对象"), householdSelect),
      h(
        "fieldset",
        { class: "choices" },
        h("legend", { class: "field-label" }, "原因"),
        reasons.map((reason) =>
          h("label", { class: "choice" }, h("input", { type: "radio", name: "manual_reason", value: reason.code }), h("span", {}, reason.label)),
        ),
      ),
      reasonError,
      h("label", { class: "field", for: "manual-note" }, h("span", { class: "field-label" }, "说明（选择“其他原因”时必填）"), note),
      noteError,
      notice("info", "手工录入的服务需要机构负责人审核。"),
      h("button", { type: "submit", class: "button button-primary button-wide" }, "确定"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      reasonError.textContent = "";
      noteError.textContent = "";
      const picked = form.querySelector("input[name=manual_reason]:checked");
      if (householdSelect && !householdSelect.value) {
        reasonError.textContent = "请选择服务对象。";
        return;
      }
      if (!picked) {
        reasonError.textContent = "请选择无法扫码的原因。";
        return;
      }
      if (picked.value === "other" && !note.value.trim()) {
        noteError.textContent = "选择“其他原因”时请填写说明。";
        note.focus();
        return;
      }
      if (householdSelect) state.household = households.find((x) => x.household_id === Number(householdSelect.value));
      const reason = reasons.find((r) => r.code === picked.value);
      state.presence = { manual_reason: reason.code, manual_reason_label: reason.label, manual_note: note.value.trim() };
      showWho();
      settled(notice("info", `手工录入：${reason.label}`));
    });
    fill(manualPanel, form);
  }

  function showStepTwo() {
    const located = h("p", { class: "position-status", role: "status" }, positionText(state.located));
    const photos = photoField({ id: "checkin-photo", title: "签到照片", label: "拍签到照片", hint: "拍一张服务对象或其家中的照片，证明您已到达。" });
    const message = h("div", { class: "form-message" });
    const submit = h("button", { type: "submit", class: "button button-primary button-big button-wide" }, "签到");
    const presenceText = state.presence.card_token ? "扫码签到" : `手工录入（${state.presence.manual_reason_label}）`;
    stepTwo.hidden = false;
    fill(
      stepTwo,
      h("h2", { id: "step-checkin" }, "第二步：签到"),
      h(
        "form",
        {
          class: "form",
          novalidate: true,
          on: {
            submit: async (event) => {
              event.preventDefault();
              submit.disabled = true;
              submit.textContent = "正在保存…";
              try {
                const visit = await checkIn(account, {
                  household: state.household,
                  presence: state.presence,
                  position: state.located && state.located.position,
                  photos: photos.files(),
                });
                navigate(`/visit/${visit.id}`);
              } catch (error) {
                fill(message, notice("error", `签到未能保存在手机上：${error.message}`));
                submit.disabled = false;
                submit.textContent = "签到";
              }
            },
          },
        },
        h("p", { class: "presence" }, h("span", { class: "field-label" }, "签到方式："), presenceText),
        h("div", { class: "position" }, h("span", { class: "field-label" }, "位置："), located),
        photos.element,
        message,
        submit,
      ),
    );
    if (!state.located) {
      locate().then((found) => {
        state.located = found;
        located.textContent = positionText(found);
      });
    }
    stepTwo.scrollIntoView({ block: "start" });
  }

  showWho();
  const fromLink = params.get("card");
  if (fromLink) scanned(fromLink);
}
