// The lease countdown and its renewal. The lease is renewed while the reviewer is active (a key,
// the mouse, or audio playing within the last `activeWindowSeconds`), and only then: a tab left
// alone lets its lease run out and the clip goes back to the queue.

import { api } from "./api.js";

export class LeaseClock {
  constructor({ element, leaseSeconds, activeWindowSeconds, isPlaying, onEnded, onWithdrawn }) {
    this.element = element;
    this.leaseSeconds = leaseSeconds;
    this.activeWindowMs = activeWindowSeconds * 1000;
    this.isPlaying = isPlaying;
    this.onEnded = onEnded;
    this.onWithdrawn = onWithdrawn;
    this.lease = null;
    this.lastActivity = Date.now();
    this.renewing = false;
    this.renewedAt = 0;
    for (const type of ["keydown", "pointerdown", "input"]) {
      document.addEventListener(type, () => this.activity(), { capture: true, passive: true });
    }
    setInterval(() => this.tick(), 1000);
  }

  set(lease) {
    this.lease = { id: lease.id, expiresAt: Date.parse(lease.expires_at) };
    this.tick();
  }

  /** The lease is over for a reason already told (a withdrawal): stop counting, say `label`. */
  stop(label) {
    this.lease = null;
    this.element.textContent = label;
    this.element.dataset.state = "ended";
  }

  remainingMs() {
    return this.lease ? this.lease.expiresAt - Date.now() : 0;
  }

  isActive() {
    return this.isPlaying() || Date.now() - this.lastActivity < this.activeWindowMs;
  }

  activity() {
    this.lastActivity = Date.now();
    // One renewal for a burst of keys (Alt+T is two keydowns), not one per key.
    const recently = Date.now() - this.renewedAt < this.activeWindowMs;
    if (this.lease && this.remainingMs() < 60000 && !recently) this.renew();
  }

  tick() {
    if (!this.lease) return;
    const remaining = this.remainingMs();
    if (remaining <= 0) {
      this.element.textContent = "Lease ended";
      this.element.dataset.state = "ended";
      const ended = this.lease;
      this.lease = null;
      this.onEnded(ended);
      return;
    }
    const seconds = Math.ceil(remaining / 1000);
    const clock = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    const warning = remaining < 60000;
    this.element.dataset.state = warning ? "warning" : "ok";
    this.element.textContent = warning ? `Lease ends in ${clock}: keep working to keep it` : `Lease ${clock}`;
    this.element.setAttribute("aria-live", warning ? "assertive" : "off");
    if (this.isPlaying()) this.lastActivity = Date.now();
    // Renew at half-time for an active reviewer, so an active one never sees the warning.
    if (remaining < (this.leaseSeconds * 1000) / 2 && this.isActive()) this.renew();
  }

  async renew() {
    if (this.renewing || !this.lease) return;
    this.renewing = true;
    this.renewedAt = Date.now();
    const lease = this.lease;
    try {
      const { status, data } = await api("POST", `/api/v1/leases/${lease.id}/renew`);
      if (status === 200 && this.lease && this.lease.id === lease.id) this.set(data);
      else if (status === 410 && data?.reason === "withdrawn" && this.lease && this.lease.id === lease.id) {
        this.onWithdrawn(lease);
      } else if (status === 404 && this.lease && this.lease.id === lease.id) {
        this.lease = null;
        this.onEnded(lease);
      }
    } catch {
      // offline: the next tick tries again
    } finally {
      this.renewing = false;
    }
  }
}
