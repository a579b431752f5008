// Segments: regions on the waveform and rows in the list, kept in step. Each has its own text and
// tags. They never overlap and stay inside the clip (the server refuses anything else).
// A Shift+drag marks a selection instead: one region to loop, never a segment, never saved.

const COLOR = "rgba(31, 95, 191, 0.18)";
const SELECTED_COLOR = "rgba(224, 138, 0, 0.30)";
const SELECTION_COLOR = "rgba(29, 122, 70, 0.25)";
const SELECTION_ID = "loop-selection";
const MIN_SECONDS = 0.1;
const NEW_SEGMENT_SECONDS = 2;

export function formatTime(seconds) {
  const whole = Math.max(0, seconds);
  const minutes = Math.floor(whole / 60);
  const rest = (whole - minutes * 60).toFixed(1).padStart(4, "0");
  return `${minutes}:${rest}`;
}

export class Segments {
  constructor({ regions, container, list, empty, tags, onChange, onPlay, onSelection, getDuration }) {
    this.regions = regions;
    this.list = list;
    this.empty = empty;
    this.tags = tags;
    this.onChange = onChange;
    this.onPlay = onPlay;
    this.onSelection = onSelection;
    this.getDuration = getDuration;
    this.items = []; // {region, text, speaker, tags: Set}, in time order
    this.selected = null;
    this.selection = null; // the Shift+drag region, if any
    this.adding = false;
    this.shiftDrag = false;

    // The drag's first pointerdown says what it makes; the region only exists once it ends.
    container.addEventListener("pointerdown", (event) => (this.shiftDrag = event.shiftKey), true);
    regions.enableDragSelection({ color: COLOR });
    regions.on("region-created", (region) => {
      if (this.adding) return;
      if (this.shiftDrag) this.setSelection(region);
      else this.adopt(region, { text: "", speaker: "", tags: [] }, { focus: true });
    });
    regions.on("region-updated", (region) => this.moved(region));
    regions.on("region-clicked", (region, event) => {
      const item = this.find(region);
      if (!item) return; // a click in the selection seeks, as anywhere on the waveform
      event.stopPropagation();
      this.select(item);
    });
  }

  /** The Shift+drag region becomes the one selection (replacing any earlier one). */
  setSelection(region) {
    this.clearSelection();
    region.setOptions({ color: SELECTION_COLOR, id: SELECTION_ID });
    this.selection = region;
    this.onSelection?.(region);
  }

  clearSelection() {
    if (!this.selection) return;
    const region = this.selection;
    this.selection = null;
    region.remove();
  }

  find(region) {
    return this.items.find((item) => item.region === region) || null;
  }

  /** Replace every segment (a clip was loaded, or another version was taken). */
  load(segments) {
    this.adding = true;
    this.regions.clearRegions();
    this.selection = null;
    this.items = segments.map((segment) => ({
      region: this.regions.addRegion({ start: segment.start_ms / 1000, end: segment.end_ms / 1000, color: COLOR }),
      text: segment.text,
      speaker: segment.speaker || "",
      tags: new Set(segment.tags || []),
    }));
    this.adding = false;
    this.selected = null;
    this.render();
  }

  /** The API's shape: [{start_ms, end_ms, text, speaker, tags}] in time order, clamped to the clip. */
  serialize(durationMs) {
    return this.items
      .map((item) => ({
        start_ms: Math.max(0, Math.round(item.region.start * 1000)),
        end_ms: Math.min(durationMs, Math.round(item.region.end * 1000)),
        text: item.text,
        speaker: item.speaker,
        tags: [...item.tags],
      }))
      .filter((segment) => segment.end_ms > segment.start_ms);
  }

  /** Add a segment at the cursor: up to 2 s, stopping at the next segment or the clip's end. */
  addAt(seconds) {
    const duration = this.getDuration();
    const inside = this.items.find((item) => item.region.start <= seconds && seconds < item.region.end);
    if (inside) {
      this.select(inside, { focus: true });
      return false;
    }
    const following = this.items.find((item) => item.region.start > seconds);
    const end = Math.min(seconds + NEW_SEGMENT_SECONDS, following ? following.region.start : duration, duration);
    if (end - seconds < MIN_SECONDS) return false;
    this.adding = true;
    const region = this.regions.addRegion({ start: seconds, end, color: COLOR });
    this.adding = false;
    this.adopt(region, { text: "", speaker: "", tags: [] }, { focus: true });
    return true;
  }

  adopt(region, values, { focus }) {
    const item = { region, text: values.text, speaker: values.speaker, tags: new Set(values.tags) };
    this.items.push(item);
    if (!this.clamp(item)) return;
    this.sort();
    this.select(item, { focus });
    this.onChange();
  }

  /** Keep a segment clear of its neighbours; remove it if nothing is left. Returns whether it stays. */
  clamp(item) {
    const others = this.items.filter((other) => other !== item);
    const { region } = item;
    let { start, end } = region;
    for (const other of others) {
      const o = other.region;
      if (o.start <= start && start < o.end) start = o.end;
      if (start < o.start && o.start < end) end = o.start;
    }
    end = Math.min(end, this.getDuration());
    if (end - start < MIN_SECONDS) {
      this.items = others;
      region.remove();
      this.render();
      return false;
    }
    if (start !== region.start || end !== region.end) region.setOptions({ start, end });
    return true;
  }

  moved(region) {
    const item = this.find(region);
    if (!item) return;
    if (this.clamp(item)) {
      this.sort();
      this.render();
    }
    this.onChange();
  }

  sort() {
    this.items.sort((a, b) => a.region.start - b.region.start);
  }

  /** Select a segment (a picked segment is what Loop replays from now on: the selection goes). */
  select(item, { focus = false, play = false } = {}) {
    if (item) this.clearSelection();
    if (this.selected && this.selected !== item) this.selected.region.setOptions({ color: COLOR });
    this.selected = item;
    if (item) item.region.setOptions({ color: SELECTED_COLOR });
    this.render();
    if (item && focus) this.list.querySelector(`li[data-index="${this.items.indexOf(item)}"] .seg-text`)?.focus();
    if (item && play) this.onPlay(item.region);
  }

  step(direction) {
    if (!this.items.length) return;
    const index = this.selected ? this.items.indexOf(this.selected) + direction : direction > 0 ? 0 : this.items.length - 1;
    const item = this.items[Math.max(0, Math.min(this.items.length - 1, index))];
    this.select(item, { play: true });
  }

  removeSelected() {
    if (!this.selected) return;
    const index = this.items.indexOf(this.selected);
    this.remove(this.selected);
    const neighbour = this.items[Math.min(index, this.items.length - 1)] || null;
    this.select(neighbour);
  }

  remove(item) {
    this.items = this.items.filter((other) => other !== item);
    item.region.remove();
    if (this.selected === item) this.selected = null;
    this.render();
    this.onChange();
  }

  render() {
    const rows = this.items.map((item, index) => this.row(item, index));
    this.list.replaceChildren(...rows);
    this.empty.hidden = this.items.length > 0;
  }

  row(item, index) {
    const number = index + 1;
    const li = document.createElement("li");
    li.dataset.index = String(index);
    li.className = item === this.selected ? "segment selected" : "segment";
    const times = `${formatTime(item.region.start)}–${formatTime(item.region.end)}`;

    const play = document.createElement("button");
    play.type = "button";
    play.className = "seg-play mono";
    play.textContent = `▶ ${times}`;
    play.setAttribute("aria-label", `Play segment ${number}, ${times}`);
    play.addEventListener("click", () => this.select(item, { play: true }));

    const text = document.createElement("input");
    text.type = "text";
    text.className = "seg-text";
    text.value = item.text;
    text.setAttribute("aria-label", `Segment ${number} text`);
    text.addEventListener("focus", () => {
      if (this.selected !== item) {
        this.selected?.region.setOptions({ color: COLOR });
        this.selected = item;
        item.region.setOptions({ color: SELECTED_COLOR });
        for (const other of this.list.children) other.classList.toggle("selected", other === li);
      }
    });
    text.addEventListener("input", () => {
      item.text = text.value;
      this.onChange();
    });

    const tags = document.createElement("span");
    tags.className = "seg-tags";
    for (const tag of this.tags) {
      const label = document.createElement("label");
      label.title = tag.label;
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = tag.value;
      box.checked = item.tags.has(tag.value);
      box.setAttribute("aria-label", `Segment ${number}: ${tag.label}`);
      box.addEventListener("change", () => {
        if (box.checked) item.tags.add(tag.value);
        else item.tags.delete(tag.value);
        this.onChange();
      });
      label.append(box, ` ${tag.short}`);
      tags.append(label);
    }

    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "seg-delete";
    remove.textContent = "✕";
    remove.setAttribute("aria-label", `Delete segment ${number}`);
    remove.addEventListener("click", () => this.remove(item));

    li.append(play, text, tags, remove);
    return li;
  }
}
