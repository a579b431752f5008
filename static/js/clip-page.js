// The clip page's player: no context menu (so no "Save audio as…"); the native controls already
// drop the download button through controlsList="nodownload".
for (const player of document.querySelectorAll("audio[data-protected]")) {
  player.addEventListener("contextmenu", (event) => event.preventDefault());
}
