// The escalation case page: the escalation team's player, protected like the clip editor's, and
// quiet at first (a case is distress by definition). Everything else on the page is plain forms.
import { protectAll } from "./protected-audio.js";

const REDUCED_VOLUME = 0.3;

for (const element of protectAll()) {
  if (element instanceof HTMLMediaElement && "reducedVolume" in element.dataset) element.volume = REDUCED_VOLUME;
}
document.body.dataset.player = "protected"; // what the browser test waits for: the script ran to the end
