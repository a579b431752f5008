// Key presses become names like "Alt+Shift+J" (see annotations/editor.py, which also renders the
// help from the same list). Keys without Ctrl or Alt never fire while the reviewer is typing.

const ARROWS = { ArrowLeft: "Left", ArrowRight: "Right", ArrowUp: "Up", ArrowDown: "Down" };
const TEXT_INPUTS = new Set(["text", "search", "email", "url", "tel", "number", "password"]);

export function keyName(event) {
  const code = event.code || "";
  const name = ARROWS[code] || code.replace(/^Key/, "").replace(/^Digit/, "").replace(/^Numpad(?=\d$)/, "");
  const parts = [];
  if (event.ctrlKey || event.metaKey) parts.push("Ctrl");
  if (event.altKey) parts.push("Alt");
  if (event.shiftKey) parts.push("Shift");
  parts.push(name);
  return parts.join("+");
}

export function isTyping(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
  return target.tagName === "INPUT" && TEXT_INPUTS.has(target.type);
}

/** Call handlers[action] for the keymap's keys; `paused()` true (a dialog is open) lets keys through. */
export function bindKeys(keymap, handlers, { paused }) {
  const actions = new Map();
  for (const [action, keys] of Object.entries(keymap)) {
    for (const key of keys) actions.set(key, action);
  }
  document.addEventListener("keydown", (event) => {
    if (paused() || event.isComposing) return;
    const key = keyName(event);
    const action = actions.get(key);
    if (!action || !handlers[action]) return;
    const modified = event.ctrlKey || event.metaKey || event.altKey;
    if (!modified && key !== "Escape" && isTyping(event.target)) return;
    event.preventDefault();
    handlers[action](event);
  });
}
