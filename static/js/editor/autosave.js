// Autosave: a change waits `debounceMs` for the next keystroke, but never longer than `maxWaitMs`
// while someone keeps typing. One save is in flight at a time; changes made meanwhile go in the
// next one. Nothing is kept in localStorage or sessionStorage: the server holds every version.

export class Autosave {
  constructor({ save, onState, debounceMs, maxWaitMs }) {
    this.save = save; // async () => "saved" | "conflict" | "failed" | "retry"
    this.onState = onState;
    this.debounceMs = debounceMs;
    this.maxWaitMs = maxWaitMs;
    this.dirty = false;
    this.paused = false;
    this.timer = null;
    this.firstChangeAt = null;
    this.inFlight = null;
    this.retryMs = 1000;
  }

  changed() {
    this.dirty = true;
    if (this.paused) return;
    this.onState("unsaved");
    const now = Date.now();
    this.firstChangeAt ??= now;
    clearTimeout(this.timer);
    const wait = Math.min(this.debounceMs, this.maxWaitMs - (now - this.firstChangeAt));
    this.timer = setTimeout(() => this.flush(), Math.max(0, wait));
  }

  /** Stop saving (a conflict waits for the reviewer's choice, or the clip is being submitted). */
  pause() {
    this.paused = true;
    clearTimeout(this.timer);
  }

  resume() {
    this.paused = false;
    if (this.dirty) this.changed();
  }

  /** Forget pending changes: a new clip, or the reviewer took the other version. */
  reset() {
    clearTimeout(this.timer);
    this.dirty = false;
    this.paused = false;
    this.firstChangeAt = null;
  }

  /** Wait for the save in flight, if any. */
  async settled() {
    while (this.inFlight) await this.inFlight;
  }

  async flush() {
    clearTimeout(this.timer);
    if (this.paused) return;
    if (this.inFlight) {
      await this.settled();
      if (this.dirty) return this.flush();
      return;
    }
    if (!this.dirty) return;
    this.dirty = false;
    this.firstChangeAt = null;
    this.onState("saving");
    this.inFlight = this.save();
    let outcome;
    try {
      outcome = await this.inFlight;
    } finally {
      this.inFlight = null;
    }
    if (outcome === "saved") {
      this.retryMs = 1000;
      if (this.dirty) this.changed();
      else this.onState("saved");
    } else if (outcome === "retry") {
      this.dirty = true;
      this.onState("offline");
      this.timer = setTimeout(() => this.flush(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 30000);
    } else {
      this.dirty = true; // conflict or refused: nothing was saved, the reviewer decides
      this.paused = outcome === "conflict";
    }
  }
}
