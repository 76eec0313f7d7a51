// The camera reads QR labels: the browser's BarcodeDetector where it has one (Chrome on
// Android, macOS), else jsQR (installed from npm by `npm ci`, served at vendor/jsQR.js).

let jsqrLoading = null;

function loadJsQR() {
  if (window.jsQR) return Promise.resolve(window.jsQR);
  jsqrLoading ||= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "vendor/jsQR.js";
    script.onload = () => (window.jsQR ? resolve(window.jsQR) : reject(new Error("jsQR missing")));
    script.onerror = () => reject(new Error("could not load the QR decoder"));
    document.head.appendChild(script);
  });
  return jsqrLoading;
}

async function nativeDetector() {
  if (!("BarcodeDetector" in window)) return null;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    if (!formats.includes("qr_code")) return null;
    return new window.BarcodeDetector({ formats: ["qr_code"] });
  } catch {
    return null;
  }
}

export class Scanner {
  constructor(video) {
    this.video = video;
    this.stream = null;
    this.running = false;
    this.engine = null;
    this.canvas = document.createElement("canvas");
  }

  // Starts the camera and calls onCode(text) with the first QR code it reads, then stops; or,
  // with continuous: true, with every code it reads until stop() (the same code again only
  // after it has been out of sight for `repeatMs`).
  async start(onCode, { continuous = false, repeatMs = 3000 } = {}) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("camera unavailable");
    }
    this.stop();
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
    this.video.srcObject = this.stream;
    this.video.setAttribute("playsinline", "");
    this.video.muted = true;
    await this.video.play();
    const detector = await nativeDetector();
    const jsQR = detector ? null : await loadJsQR();
    this.engine = detector ? "BarcodeDetector" : "jsQR";
    this.running = true;
    const lastSeen = new Map(); // code -> when it was last in sight
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    const tick = async () => {
      if (!this.running) return;
      const v = this.video;
      if (v.readyState >= 2 && v.videoWidth) {
        let text = null;
        try {
          if (detector) {
            const codes = await detector.detect(v);
            if (codes.length) text = codes[0].rawValue;
          } else {
            const scale = Math.min(1, 960 / Math.max(v.videoWidth, v.videoHeight));
            const w = Math.round(v.videoWidth * scale);
            const h = Math.round(v.videoHeight * scale);
            this.canvas.width = w;
            this.canvas.height = h;
            ctx.drawImage(v, 0, 0, w, h);
            const found = jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "attemptBoth" });
            if (found && found.data) text = found.data;
          }
        } catch {
          text = null;
        }
        if (text && this.running && !continuous) {
          this.stop();
          if (navigator.vibrate) navigator.vibrate(80);
          onCode(text);
          return;
        }
        if (text && this.running) {
          const now = Date.now();
          const before = lastSeen.get(text);
          lastSeen.set(text, now);
          if (before === undefined || now - before > repeatMs) onCode(text);
        }
      }
      setTimeout(tick, 120);
    };
    tick();
    return this.engine;
  }

  stop() {
    this.running = false;
    if (this.stream) {
      for (const track of this.stream.getTracks()) track.stop();
      this.stream = null;
    }
    this.video.srcObject = null;
  }
}
