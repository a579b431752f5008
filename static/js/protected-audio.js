// One way every page treats a recording's player: no "Save audio as…", no download control, no
// casting it elsewhere. The server side (short-lived links bound to user, session and lease or
// grant; Content-Disposition: inline; no-store) is what really holds; this takes away the
// browser's own easy ways out.

const DENIED_CONTROLS = ["nodownload", "noplaybackrate", "noremoteplayback"];

/** Block the context menu on `element` (and what it covers) and strip its download affordances. */
export function protect(element) {
  element.addEventListener("contextmenu", (event) => event.preventDefault());
  if (element instanceof HTMLMediaElement) {
    for (const token of DENIED_CONTROLS) {
      if (element.controlsList && !element.controlsList.contains(token)) element.controlsList.add(token);
    }
    element.disableRemotePlayback = true;
  }
}

/** Protect every `[data-protected]` element under `root`; returns them. */
export function protectAll(root = document) {
  const elements = [...root.querySelectorAll("[data-protected]")];
  for (const element of elements) protect(element);
  return elements;
}
