// What a phone can add to prove a visit happened: photos from its camera and its position.

import { h } from "./dom.js";

const MAX_PHOTOS = 5;
const MAX_ACCURACY_M = 100_000;

/**
 * Photos taken with the camera (or chosen from the album), previewed, each removable. `title`
 * names the field, `label` the camera button.
 * Returns {element, files()}; the files are uploaded as they are, EXIF capture time included.
 */
export function photoField({ id, title, label, hint }) {
  const files = [];
  const previews = h("ul", { class: "photo-previews", "aria-live": "polite" });
  const message = h("p", { class: "field-error", id: `${id}-error` });
  const input = h("input", {
    id,
    type: "file",
    accept: "image/*",
    capture: "environment",
    "aria-describedby": `${id}-error`,
    on: { change: () => add([...input.files]) },
  });
  const count = h("span", { class: "photo-count muted" }, "尚未拍照");

  function refresh() {
    count.textContent = files.length ? `已拍 ${files.length} 张` : "尚未拍照";
  }

  function add(chosen) {
    message.textContent = "";
    for (const file of chosen) {
      if (!file.type.startsWith("image/")) {
        message.textContent = "请选择照片文件（JPEG、PNG 或 WebP）。";
        continue;
      }
      if (files.length >= MAX_PHOTOS) {
        message.textContent = `每次最多 ${MAX_PHOTOS} 张照片。`;
        break;
      }
      files.push(file);
      const url = URL.createObjectURL(file);
      const item = h(
        "li",
        { class: "photo-preview" },
        h("img", { src: url, alt: `照片 ${files.length}` }),
        h(
          "button",
          {
            type: "button",
            class: "button button-small",
            on: {
              click: () => {
                files.splice(files.indexOf(file), 1);
                URL.revokeObjectURL(url);
                item.remove();
                refresh();
              },
            },
          },
          "删除",
        ),
      );
      previews.append(item);
    }
    input.value = ""; // the same photo may be chosen again after deleting it
    refresh();
  }

  const element = h(
    "div",
    { class: "field photo-field" },
    h("span", { class: "field-label" }, title),
    hint && h("p", { class: "muted field-hint" }, hint),
    h("div", { class: "file-picker" }, input, h("label", { class: "button button-camera", for: id }, label), count),
    message,
    previews,
  );
  return { element, files: () => [...files] };
}

/**
 * The phone's position, if it will give one: {position: {latitude, longitude, accuracy_m}} or
 * {position: null, message}. Never rejects: a visit is recorded without a position too (flagged).
 */
export function locate(timeout = 20_000) {
  return new Promise((resolve) => {
    if (!navigator.geolocation) {
      resolve({ position: null, message: "此手机或浏览器不支持定位。" });
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (fix) =>
        resolve({
          position: {
            latitude: fix.coords.latitude,
            longitude: fix.coords.longitude,
            accuracy_m: Math.min(Math.round(fix.coords.accuracy || 0), MAX_ACCURACY_M),
          },
        }),
      (error) =>
        resolve({
          position: null,
          message: error.code === 1 ? "未获得定位权限，请在手机设置中允许本页面使用位置信息。" : "暂时无法定位，可不带定位签到。",
        }),
      { enableHighAccuracy: true, timeout, maximumAge: 60_000 },
    );
  });
}

/** "已定位，精度约 12 米" for a fix, or the reason there is none. */
export function positionText(found) {
  if (!found) return "正在获取定位…";
  if (!found.position) return found.message;
  return `已定位，精度约 ${found.position.accuracy_m} 米`;
}
