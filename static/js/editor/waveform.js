// The waveform, drawn from the peaks the API sends before a single audio byte is asked for.
// wavesurfer.js plays through the page's own <audio> element (`media`), so the browser streams
// the clip with Range requests instead of fetching the whole file to decode it.
import WaveSurfer from "../../vendor/wavesurfer/wavesurfer.esm.js";
import RegionsPlugin from "../../vendor/wavesurfer/plugins/regions.esm.js";
import TimelinePlugin from "../../vendor/wavesurfer/plugins/timeline.esm.js";

// Times the width at which the whole clip fits. Relative, not fixed pixels a second: a 2 s clip
// already gets about 400 px a second when fitted, so fixed steps below that changed nothing.
const ZOOM_FACTORS = [1, 2, 4, 8, 16];

/** int8 min/max pairs, base64, to floats in -1..1 (see annotations/peaks.py). */
export function decodePeaks(peaks) {
  const raw = atob(peaks.data);
  const values = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const byte = raw.charCodeAt(i);
    values[i] = (byte > 127 ? byte - 256 : byte) / 127;
  }
  return values;
}

export class Waveform {
  constructor({ container, media, styleNonce }) {
    this.container = container;
    this.media = media;
    this.zoomIndex = 0;
    this.regions = RegionsPlugin.create();
    this.surfer = WaveSurfer.create({
      container,
      media,
      cspNonce: styleNonce, // its shadow root's one <style> element carries the page's CSP nonce
      height: 112,
      waveColor: "#7a9cc6",
      progressColor: "#1f5fbf",
      cursorColor: "#b3261e",
      cursorWidth: 2,
      normalize: true,
      dragToSeek: false,
      autoScroll: true,
      autoCenter: true,
      plugins: [this.regions, TimelinePlugin.create({ height: 18 })],
    });
  }

  /**
   * Draw the clip from its peaks, and only then point the audio element at it: the waveform is
   * on screen before the first audio request. Resolves once both are done.
   */
  async show(clip, audioUrl) {
    const drawn = new Promise((resolve) => this.surfer.once("redrawcomplete", resolve));
    this.regions.clearRegions();
    this.resetZoom();
    await this.surfer.load("", [decodePeaks(clip.peaks)], clip.duration_ms / 1000);
    await drawn;
    this.media.src = audioUrl;
  }

  /**
   * Play through `media`, which is already loading `audioUrl` (Submit & next started it while
   * the submit was on its way), and draw the clip from its peaks.
   */
  async showLoaded(clip, media, audioUrl) {
    this.media = media;
    this.surfer.setMediaElement(media);
    const drawn = new Promise((resolve) => this.surfer.once("redrawcomplete", resolve));
    this.regions.clearRegions();
    this.resetZoom();
    // The same URL as the element's source: wavesurfer leaves the loading element alone.
    await this.surfer.load(audioUrl, [decodePeaks(clip.peaks)], clip.duration_ms / 1000);
    await drawn;
  }

  /** The next clip is drawn fitted: the renderer reads `options` when it draws (no redraw here). */
  resetZoom() {
    this.zoomIndex = 0;
    this.surfer.options.minPxPerSec = 0;
  }

  zoom(step) {
    const duration = this.surfer.getDuration();
    if (!duration) return;
    this.zoomIndex = Math.max(0, Math.min(ZOOM_FACTORS.length - 1, this.zoomIndex + step));
    const fitted = this.container.clientWidth / duration;
    this.surfer.zoom(this.zoomIndex === 0 ? 0 : fitted * ZOOM_FACTORS[this.zoomIndex]);
  }
}
