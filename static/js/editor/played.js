// Which parts of the clip have been heard. The media element's own `played` ranges reset when
// its source changes, also for a refreshed audio link of the same clip, so they are folded into a
// list kept here: a new clip starts it afresh, a new link for the same clip keeps it.

export class PlayedRanges {
  /** `elements`: every audio element the editor plays through; `use()` says which is current. */
  constructor(elements) {
    this.media = elements[0];
    this.keepOnNextLoad = false;
    this.reset(0);
    for (const element of elements) {
      for (const type of ["timeupdate", "pause", "ended", "seeking"]) {
        element.addEventListener(type, () => element === this.media && this.collect());
      }
      element.addEventListener("loadstart", () => {
        if (element !== this.media) return;
        if (!this.keepOnNextLoad) this.ranges = [];
        this.keepOnNextLoad = false;
      });
    }
  }

  /** The clip now plays through `media` (already loading the new clip): start afresh. */
  use(media, durationSeconds) {
    this.media = media;
    this.reset(durationSeconds);
  }

  reset(durationSeconds) {
    this.duration = durationSeconds;
    this.ranges = [];
  }

  /** The next source is the same clip under a fresh link: keep what was heard. */
  keepAcrossReload() {
    this.collect();
    this.keepOnNextLoad = true;
  }

  /** Fold the media element's played ranges into ours (call before its source changes). */
  collect() {
    const played = this.media.played;
    for (let i = 0; i < played.length; i++) this.add(played.start(i), played.end(i));
  }

  add(start, end) {
    const merged = [];
    let [low, high] = [start, end];
    for (const [s, e] of this.ranges) {
      if (e < low || s > high) merged.push([s, e]);
      else [low, high] = [Math.min(s, low), Math.max(e, high)];
    }
    merged.push([low, high]);
    this.ranges = merged.sort((a, b) => a[0] - b[0]);
  }

  /** Seconds of the clip heard at least once. */
  heard() {
    return this.ranges.reduce((sum, [s, e]) => sum + Math.max(0, Math.min(e, this.duration) - s), 0);
  }

  isComplete(toleranceSeconds) {
    return this.duration > 0 && this.heard() >= this.duration - toleranceSeconds;
  }
}
