// Players of clips: no context menu (so no "Save audio as…"); the native controls already drop
// the download button through controlsList="nodownload". A clip the pre-screen marked as
// possible distress starts quietly.
const REDUCED_VOLUME = 0.3;
for (const player of document.querySelectorAll("audio[data-protected]")) {
  player.addEventListener("contextmenu", (event) => event.preventDefault());
  if (player.hasAttribute("data-reduced-volume")) player.volume = REDUCED_VOLUME;
}
