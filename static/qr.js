// Reading a door card's QR code: from the live camera (the browser's own barcode detector where
// it has one, the bundled jsQR otherwise) or from a still photo (what WeChat's browser and old
// phones do reliably), and making sense of what the code says.

const DECODER_SRC = "/vendor/jsQR.js";
const FRAME_SIDE = 720; // camera frames are scanned at this size: fast enough on a cheap phone
const STILL_SIDES = [1280, 2400]; // a photo is tried small first, then larger for a distant card
const SCAN_EVERY_MS = 180;

// kN.h.<household id>.<card version>.<mac>: the server's signed token (carepact.cards.tokens).
const TOKEN_SHAPE = /^(k[0-9a-z]{1,8})\.h\.([1-9][0-9]{0,9})\.([1-9][0-9]{0,5})\.([A-Za-z0-9_-]{22})$/;

let loading = null;

/** The bundled decoder, loaded once as a classic script (start early: offline it cannot be fetched). */
export function loadDecoder() {
  if (window.jsQR) return Promise.resolve(window.jsQR.default || window.jsQR);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = DECODER_SRC;
      script.async = true;
      script.addEventListener("load", () => resolve(window.jsQR.default || window.jsQR));
      script.addEventListener("error", () => {
        loading = null;
        script.remove();
        reject(new Error("二维码识别组件加载失败，请在有网络时打开一次本页面。"));
      });
      document.head.append(script);
    });
  }
  return loading;
}

let nativeDetector;

/** The browser's BarcodeDetector when it reads QR codes (Android Chrome, Safari 17+), else null. */
async function detector() {
  if (nativeDetector !== undefined) return nativeDetector;
  nativeDetector = null;
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) nativeDetector = new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch {
      nativeDetector = null;
    }
  }
  return nativeDetector;
}

async function detectNative(source) {
  const found = await detector();
  if (!found) return null;
  try {
    const codes = await found.detect(source);
    return codes.length ? codes[0].rawValue : null;
  } catch {
    return null;
  }
}

function draw(canvas, source, width, height, side) {
  const scale = Math.min(1, side / Math.max(width, height));
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(source, 0, 0, canvas.width, canvas.height);
  return context.getImageData(0, 0, canvas.width, canvas.height);
}

async function decodePixels(pixels, invert) {
  const jsQR = await loadDecoder();
  const result = jsQR(pixels.data, pixels.width, pixels.height, {
    inversionAttempts: invert ? "attemptBoth" : "dontInvert",
  });
  return result ? result.data : null;
}

async function imageOf(file) {
  if ("createImageBitmap" in window) {
    try {
      return await createImageBitmap(file); // honours the photo's EXIF orientation
    } catch {
      // fall through: some WebViews cannot make a bitmap from a JPEG file
    }
  }
  const url = URL.createObjectURL(file);
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    return image;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The text of the QR code in a still photo, or null when none can be read. */
export async function readPhoto(file) {
  const image = await imageOf(file);
  const width = image.naturalWidth || image.width;
  const height = image.naturalHeight || image.height;
  const native = await detectNative(image);
  if (native) return native;
  const canvas = document.createElement("canvas");
  for (const side of STILL_SIDES) {
    const text = await decodePixels(draw(canvas, image, width, height, side), true);
    if (text) return text;
    if (Math.max(width, height) <= side) break;
  }
  return null;
}

/**
 * Scan the camera's picture into `video` until a code is read: onCode(text) once, then stops.
 * Resolves to a stop() function; rejects (with a Chinese message) when the camera cannot open.
 */
export async function scanCamera(video, onCode) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("此浏览器不能直接打开摄像头，请用“拍照识别”。");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (error) {
    const denied = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
    throw new Error(denied ? "未获得摄像头权限。请在浏览器设置中允许使用摄像头，或用“拍照识别”。" : "摄像头无法打开，请用“拍照识别”。");
  }
  const useNative = Boolean(await detector());
  if (!useNative) loadDecoder().catch(() => {});
  video.srcObject = stream;
  video.muted = true;
  video.setAttribute("playsinline", "");
  await video.play().catch(() => {});

  const canvas = document.createElement("canvas");
  let stopped = false;
  let timer = 0;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  const tick = async () => {
    if (stopped) return;
    if (!video.isConnected) {
      stop();
      return;
    }
    let text = null;
    if (video.readyState >= 2 && video.videoWidth > 0) {
      try {
        text = useNative
          ? await detectNative(video)
          : await decodePixels(draw(canvas, video, video.videoWidth, video.videoHeight, FRAME_SIDE), false);
      } catch {
        text = null;
      }
    }
    if (stopped) return;
    if (text) {
      stop();
      onCode(text);
      return;
    }
    timer = setTimeout(tick, SCAN_EVERY_MS);
  };
  tick();
  return stop;
}

/**
 * The card token in what a code says: the card's URL (…/c/TOKEN), the app's own check-in
 * address (…#/checkin?card=TOKEN) or the bare token. Anything else comes back as it was.
 */
export function cardToken(text) {
  const value = String(text || "").trim();
  const inPath = value.match(/\/c\/([^/?#\s]+)/);
  if (inPath) return decodeURIComponent(inPath[1]);
  const inQuery = value.match(/[?&]card=([^&#\s]+)/);
  if (inQuery) return decodeURIComponent(inQuery[1]);
  return value;
}

/** The household a well-formed door card token names (the server still checks its signature). */
export function householdOfToken(token) {
  const match = TOKEN_SHAPE.exec(token);
  return match ? Number(match[2]) : null;
}
