// The clip editor: waveform from peaks, segments, keyboard first, autosave, and the next clip
// claimed ahead so that Submit & next shows it at once. All data comes from the page's
// json_script and the API; nothing is kept in localStorage or sessionStorage.
import { api, errorMessage } from "./editor/api.js";
import { Autosave } from "./editor/autosave.js";
import { bindKeys } from "./editor/keys.js";
import { LeaseClock } from "./editor/lease.js";
import { PlayedRanges } from "./editor/played.js";
import { protect } from "./protected-audio.js";
import { formatTime, Segments } from "./editor/segments.js";
import { Waveform } from "./editor/waveform.js";

const $ = (id) => document.getElementById(id);
const REDUCED_VOLUME = 0.3;
const readJson = (id) => JSON.parse($(id).textContent);

const config = readJson("editor-config");
const initial = readJson("clip-data");
const editor = $("editor");
// Two audio elements: the clip's, and a spare that loads the audio of the clip claimed ahead
// (metadata and first bytes) while the reviewer works. Submit & next swaps them.
const players = [$("player"), $("player-next")];
let player = players[0];
const transcript = $("transcript");
const saveStatus = $("save-status");
const notice = $("notice");

// No "Save audio as…": no context menu on the player or the waveform; the element has no
// download control (controlsList="nodownload") and no native controls at all.
for (const element of [...players, $("waveform")]) protect(element);

editor.hidden = false;
const waveform = new Waveform({ container: $("waveform"), media: player, styleNonce: config.style_nonce });
const surfer = waveform.surfer;
const played = new PlayedRanges(players);

let current = null; // {clip, lease, version, linkAt}
let next = null; // {clip, lease, linkAt} claimed ahead, "empty", or null (not asked yet)
let prefetchTimer = null;
let submitting = false;
let looping = false; // Loop replays the Shift+drag selection, or else the selected segment
let conflictCurrent = null;
let queuedSeek = null; // seconds: a cursor move waiting for the seek under way

// --- Status line --------------------------------------------------------------------------------

const SAVE_LABELS = {
  saved: () => `Saved · v${current?.version ?? 0}`,
  unsaved: () => "Unsaved changes",
  saving: () => "Saving…",
  offline: () => "Not saved: offline, retrying",
  conflict: () => "Conflict: choose a version",
  refused: () => "Not saved",
};

function setSaveState(state, detail = "") {
  saveStatus.dataset.state = state;
  saveStatus.textContent = SAVE_LABELS[state]() + (detail ? `: ${detail}` : "");
}

function say(message, kind = "info") {
  notice.textContent = message;
  notice.dataset.kind = kind;
  notice.hidden = !message;
}

function updateTime() {
  const duration = current ? current.clip.duration_ms / 1000 : 0;
  $("time").textContent = `${formatTime(surfer.getCurrentTime())} / ${formatTime(duration)}`;
}

function updatePlayed() {
  if (!current) return;
  const heard = played.heard();
  const whole = played.isComplete(config.played_tolerance_ms / 1000);
  const percent = Math.min(100, Math.round((100 * heard) / (current.clip.duration_ms / 1000)));
  const status = $("played-status");
  status.textContent = whole ? "Played ✓" : `Played ${percent}%`;
  status.dataset.state = whole ? "complete" : "partial";
  editor.dataset.played = whole ? "complete" : "partial";
}

// --- Segments and the transcript ------------------------------------------------------------------

const autosave = new Autosave({
  save: saveTranscript,
  onState: setSaveState,
  debounceMs: config.autosave_debounce_ms,
  maxWaitMs: config.autosave_max_wait_ms,
});

const segments = new Segments({
  regions: waveform.regions,
  container: $("waveform"),
  list: $("segments"),
  empty: $("segments-empty"),
  tags: config.tags,
  onChange: () => autosave.changed(),
  onPlay: (region) => playRegion(region),
  onSelection: (region) => looping && playFrom(region.start),
  getDuration: () => (current ? current.clip.duration_ms / 1000 : 0),
});

transcript.addEventListener("input", () => autosave.changed());
for (const box of document.querySelectorAll('input[name="clip-tag"]')) {
  box.addEventListener("change", () => autosave.changed());
}

function clipTags() {
  return [...document.querySelectorAll('input[name="clip-tag"]:checked')].map((box) => box.value);
}

function transcriptBody() {
  return {
    text: transcript.value,
    segments: segments.serialize(current.clip.duration_ms),
    tags: clipTags(),
    base_version: current.version,
  };
}

function fillTranscript(revision, clip) {
  transcript.value = revision ? revision.text : clip.asr_text;
  $("transcript-origin").textContent = revision
    ? `(version ${revision.version})`
    : "(pre-filled from the machine transcript)";
  const tags = new Set(revision ? revision.tags : []);
  for (const box of document.querySelectorAll('input[name="clip-tag"]')) box.checked = tags.has(box.value);
  segments.load(revision ? revision.segments : []);
}

async function saveTranscript() {
  const clip = current.clip;
  let response;
  try {
    response = await api("PUT", `/api/v1/clips/${clip.id}/transcript`, transcriptBody());
  } catch {
    return "retry";
  }
  if (clip !== current?.clip) return "saved"; // answered after the reviewer moved on
  const { status, data } = response;
  if (status === 200) {
    current.version = data.version;
    $("transcript-origin").textContent = `(version ${data.version})`;
    return "saved";
  }
  if (status === 409) {
    showConflict(data.current);
    return "conflict";
  }
  if (isWithdrawn(response)) {
    withdrawn(clip.id);
    return "failed";
  }
  if (status === 404) {
    leaseLost();
    return "failed";
  }
  setSaveState("refused", errorMessage(data));
  return status >= 500 ? "retry" : "failed";
}

function showConflict(revision) {
  conflictCurrent = revision;
  setSaveState("conflict");
  $("conflict-version").textContent = String(revision ? revision.version : 0);
  $("conflict-text").textContent = revision ? revision.text : "";
  $("conflict-detail").textContent = revision
    ? `${revision.segments.length} segment(s), tags: ${revision.tags.join(", ") || "none"}; saved ${new Date(revision.saved_at).toLocaleTimeString()}`
    : "";
  $("conflict").hidden = false;
  $("conflict-keep-mine").focus();
}

$("conflict-keep-mine").addEventListener("click", () => {
  current.version = conflictCurrent ? conflictCurrent.version : 0;
  $("conflict").hidden = true;
  autosave.resume();
  autosave.flush();
  transcript.focus();
});

$("conflict-take-theirs").addEventListener("click", () => {
  current.version = conflictCurrent ? conflictCurrent.version : 0;
  autosave.reset();
  fillTranscript(conflictCurrent, current.clip);
  $("conflict").hidden = true;
  setSaveState("saved");
  transcript.focus();
});

// --- Playback -------------------------------------------------------------------------------------

function togglePlay() {
  if (surfer.isPlaying()) surfer.pause();
  else surfer.play().catch(() => say("The audio could not start; press Play again.", "error"));
}

/**
 * Move the cursor; a move asked for while the element is still seeking waits for that seek.
 * wavesurfer.js parks such a seek as "pending" and drops it when the earlier seek's `seeking`
 * event arrives (J pressed twice quickly moved back once), and setting the element's time in the
 * middle of a seek now and again leaves Chromium "seeking" for good with the network idle.
 */
function setTime(seconds) {
  if (player.seeking) {
    queuedSeek = seconds;
    return;
  }
  queuedSeek = null;
  surfer.setTime(seconds);
}

/** Where the cursor is, or will be once the seek under way and the one queued behind it are done. */
function position() {
  return queuedSeek ?? surfer.getCurrentTime();
}

function seekBy(seconds) {
  const duration = current.clip.duration_ms / 1000;
  setTime(Math.max(0, Math.min(duration, position() + seconds)));
}

function playFrom(seconds) {
  queuedSeek = null;
  surfer.play(seconds).catch(() => say("The audio could not start; press Play again.", "error"));
}

function playRegion(region) {
  queuedSeek = null;
  if (looping) playFrom(region.start);
  else region.play(true);
}

function loopTarget() {
  return segments.selection || segments.selected?.region || null;
}

function setSpeed(index) {
  const speeds = config.speeds;
  const clamped = Math.max(0, Math.min(speeds.length - 1, index));
  $("speed").value = String(speeds[clamped]);
  surfer.setPlaybackRate(speeds[clamped], true);
}

function speedIndex() {
  return config.speeds.indexOf(Number($("speed").value));
}

for (const speed of config.speeds) {
  const option = document.createElement("option");
  option.value = String(speed);
  option.textContent = `${speed}×`;
  $("speed").append(option);
}
$("speed").value = "1";
$("speed").addEventListener("change", () => setSpeed(speedIndex()));

/** Loop on replays the target from its start; loop off lets go of the selection (it is only for looping). */
function toggleLoop() {
  looping = !looping;
  $("loop").setAttribute("aria-pressed", String(looping));
  const target = loopTarget();
  if (looping && target) playFrom(target.start);
  if (!looping) segments.clearSelection();
}

surfer.on("timeupdate", (seconds) => {
  updateTime();
  const target = loopTarget();
  if (looping && target && surfer.isPlaying() && seconds >= target.end) setTime(target.start);
});
// A target that ends with the clip: the media ends (and pauses) before a timeupdate passes its end.
surfer.on("finish", () => {
  const target = loopTarget();
  if (looping && target) playFrom(target.start);
});
surfer.on("play", () => ($("play").textContent = "Pause"));
surfer.on("pause", () => {
  $("play").textContent = "Play";
  updatePlayed();
});
function playable() {
  editor.dataset.audio = "ready";
  performance.mark("clip-playable");
}

for (const element of players) {
  element.addEventListener("timeupdate", () => element === player && updatePlayed());
  element.addEventListener("loadedmetadata", () => {
    if (element === player && editor.dataset.audio !== "ready") editor.dataset.audio = "metadata";
  });
  element.addEventListener("canplay", () => element === player && playable());
  element.addEventListener("seeked", () => {
    if (element !== player || queuedSeek === null) return;
    const seconds = queuedSeek;
    queuedSeek = null;
    surfer.setTime(seconds);
  });
  element.addEventListener("error", () => element === player && audioFailed());
}

$("play").addEventListener("click", togglePlay);
$("zoom-in").addEventListener("click", () => waveform.zoom(1));
$("zoom-out").addEventListener("click", () => waveform.zoom(-1));
$("loop").addEventListener("click", toggleLoop);
$("add-segment").addEventListener("click", () => segments.addAt(position()));

// Audio links live minutes. When one has expired (the media element fails on its next request),
// ask for a fresh one and carry on from the same place.
let refreshes = [];
async function audioFailed() {
  if (!current || !player.getAttribute("src")) return;
  const now = Date.now();
  refreshes = refreshes.filter((at) => now - at < 60000);
  if (refreshes.length >= 3) {
    say("The audio keeps failing. Reload the page, or skip the clip as an audio problem.", "error");
    return;
  }
  refreshes.push(now);
  await refreshAudioLink();
}

async function refreshAudioLink() {
  const clip = current.clip;
  const position = surfer.getCurrentTime();
  const wasPlaying = !player.paused;
  const { status, data } = await api("GET", `/api/v1/clips/${clip.id}`);
  if (clip !== current?.clip) return;
  if (isWithdrawn({ status, data })) return withdrawn(clip.id);
  if (status === 404) return leaseLost();
  if (status !== 200) return say(errorMessage(data, "Could not get a fresh audio link"), "error");
  current.linkAt = Date.now();
  played.keepAcrossReload();
  player.src = data.audio_url;
  player.addEventListener(
    "loadedmetadata",
    () => {
      player.currentTime = position;
      if (wasPlaying) player.play().catch(() => {});
    },
    { once: true },
  );
}

// --- Loading a clip, and the one after it ---------------------------------------------------------

/** Show a clip; `loaded` is the spare audio element if it is already loading this clip's audio. */
async function show(clip, lease, loaded = null) {
  surfer.pause();
  queuedSeek = null;
  clearTimeout(prefetchTimer);
  autosave.reset();
  current = { clip, lease, version: clip.version, linkAt: Date.now() };
  editor.dataset.clip = clip.id;
  editor.dataset.waveform = "drawing";
  editor.dataset.audio = "none";
  $("clip-id").textContent = clip.id.slice(0, 8);
  $("clip-meta").textContent = `${clip.locale} · ${(clip.duration_ms / 1000).toFixed(1)} s`;
  // The ingest pre-screen heard possible distress: warn first, and start quietly.
  $("distress-warning").hidden = !clip.possible_distress;
  for (const element of players) element.volume = clip.possible_distress ? REDUCED_VOLUME : 1;
  document.title = `Clip ${clip.id.slice(0, 8)} · reviewportal`;
  if (location.pathname !== `/clips/${clip.id}`) history.replaceState(null, "", `/clips/${clip.id}`);
  played.reset(clip.duration_ms / 1000);
  leaseClock.set(lease);
  say("");
  $("conflict").hidden = true;
  if (loaded) {
    const previous = player;
    player = loaded;
    previous.removeAttribute("data-current");
    player.setAttribute("data-current", "");
    played.use(player, clip.duration_ms / 1000);
    await waveform.showLoaded(clip, player, clip.audio_url);
    previous.pause();
    previous.removeAttribute("src");
    previous.load(); // let go of the submitted clip's audio
    if (player.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA) playable();
  } else {
    dropPreload();
    await waveform.show(clip, clip.audio_url);
  }
  editor.dataset.waveform = "drawn";
  performance.mark("clip-drawn");
  fillTranscript(clip.transcript, clip);
  setSaveState("saved");
  updateTime();
  updatePlayed();
  setSpeed(speedIndex());
  transcript.focus();
  transcript.setSelectionRange(transcript.value.length, transcript.value.length);
  if (next === null) {
    editor.dataset.next = "pending";
    prefetchTimer = setTimeout(claimAhead, config.prefetch_delay_ms);
  }
}

/** Claim the clip after this one and keep its page data, so Submit & next needs no round trip for it. */
async function claimAhead() {
  if (next !== null) return;
  editor.dataset.next = "claiming";
  let response;
  try {
    response = await api("POST", "/api/v1/queue/claim-next");
  } catch {
    editor.dataset.next = "none";
    return;
  }
  const { status, data } = response;
  if (status === 200) {
    next = { clip: data.clip, lease: data.lease, linkAt: Date.now() };
    preloadNext();
    editor.dataset.next = "ready";
  } else if (status === 204) {
    next = "empty";
    editor.dataset.next = "empty";
  } else {
    editor.dataset.next = "none"; // 409 (no current lease) or 429: asked again at submit time
  }
}

function linkIsFresh(upcoming) {
  return Date.now() - upcoming.linkAt < (config.audio_url_seconds - 15) * 1000;
}

function spareElement() {
  return players.find((element) => element !== player);
}

/** The spare element, loading the clip claimed ahead; null if its audio link is too old to use. */
function preloadNext() {
  if (!next || next === "empty" || !linkIsFresh(next)) return null;
  const spare = spareElement();
  if (spare.getAttribute("src") !== next.clip.audio_url) spare.src = next.clip.audio_url;
  return spare;
}

function dropPreload() {
  const spare = spareElement();
  if (!spare.getAttribute("src")) return;
  spare.removeAttribute("src");
  spare.load();
}

/** Show the clip claimed ahead (now current on the server), or claim one now. */
async function advance(promotedLease, loaded = null) {
  let upcoming = next;
  next = null;
  if (upcoming && upcoming !== "empty") {
    const lease = promotedLease || {
      id: upcoming.lease.id,
      expires_at: new Date(Date.now() + config.lease_seconds * 1000).toISOString(),
    };
    if (loaded) return show(upcoming.clip, lease, loaded);
    if (!linkIsFresh(upcoming)) {
      // Its audio link is about to lapse: read the clip again for a fresh one.
      const { status, data } = await api("GET", `/api/v1/clips/${upcoming.clip.id}`);
      upcoming = status === 200 ? { clip: data } : null;
    }
    if (upcoming) return show(upcoming.clip, lease);
  }
  const { status, data } = await api("POST", "/api/v1/queue/claim");
  if (status === 200) return show(data.clip, data.lease);
  if (status === 204) return queueEmpty();
  say(errorMessage(data, "Could not get the next clip"), "error");
}

function queueEmpty() {
  current = null;
  surfer.pause();
  player.removeAttribute("src");
  editor.dataset.clip = "";
  $("queue-empty").hidden = false;
  document.querySelector(".editor-body").hidden = true;
  $("queue-empty").querySelector("a").focus();
}

function leaseLost() {
  autosave.pause();
  surfer.pause();
  say("Your lease on this clip ended and it went back to the queue. Press Ctrl+Enter for the next clip.", "error");
  editor.dataset.lease = "ended";
}

// --- Submit, false wake, skip, escalate -----------------------------------------------------------

async function submit({ falseWake = false } = {}) {
  if (!current || submitting) return;
  performance.clearMarks();
  performance.mark("submit-pressed");
  if (editor.dataset.lease === "ended" || editor.dataset.lease === "withdrawn") {
    // The clip claimed ahead expired with this one; the plain claim starts afresh.
    editor.dataset.lease = "";
    next = null;
    return advance(null);
  }
  if (config.require_full_playback && !played.isComplete(config.played_tolerance_ms / 1000)) {
    say("Play the whole clip once before you submit it (the Played mark turns to ✓).", "error");
    return;
  }
  if (falseWake) {
    const box = document.querySelector('input[name="clip-tag"][value="not_addressed"]');
    if (!box.checked) {
      box.checked = true;
      autosave.dirty = true;
    }
  }
  submitting = true;
  transcript.readOnly = true;
  try {
    autosave.pause();
    const spare = preloadNext(); // already loading since the claim ahead, unless its link aged
    await autosave.settled();
    const body = { played: true };
    if (autosave.dirty || current.version === 0) body.transcript = transcriptBody();
    else body.version = current.version;
    let response;
    try {
      response = await api("POST", `/api/v1/clips/${current.clip.id}/submit`, body);
    } catch {
      autosave.resume();
      return say("Not submitted: the connection failed. Try again.", "error");
    }
    const { status, data } = response;
    performance.mark("submit-answered");
    if (status === 200) {
      autosave.reset();
      return await advance(data.next_lease, spare);
    }
    if (status === 409) {
      autosave.dirty = true;
      return showConflict(data.current);
    }
    if (isWithdrawn(response)) return withdrawn(current.clip.id);
    if (status === 404) return leaseLost();
    autosave.resume();
    say(`Not submitted: ${errorMessage(data)}`, "error");
  } finally {
    submitting = false;
    transcript.readOnly = false;
  }
}

$("submit").addEventListener("click", () => submit());
$("false-wake").addEventListener("click", () => submit({ falseWake: true }));

const skipDialog = $("skip-dialog");
$("skip").addEventListener("click", openSkip);
function openSkip() {
  if (!current) return;
  skipDialog.showModal();
  skipDialog.querySelector('input[name="reason"]:checked')?.focus();
}
skipDialog.addEventListener("keydown", (event) => {
  const radios = skipDialog.querySelectorAll('input[name="reason"]');
  const index = Number(event.key) - 1;
  if (index >= 0 && index < radios.length) {
    radios[index].checked = true;
    radios[index].focus();
  }
});
skipDialog.addEventListener("close", async () => {
  if (skipDialog.returnValue !== "skip" || !current) return;
  const reason = skipDialog.querySelector('input[name="reason"]:checked').value;
  autosave.pause();
  await autosave.settled();
  const { status, data } = await api("POST", `/api/v1/leases/${current.lease.id}/release`, { reason });
  if (status === 204 || status === 404 || status === 410) return advance(null); // gone either way
  autosave.resume();
  say(`Not skipped: ${errorMessage(data)}`, "error");
});

// Escalate: one key opens the distress form; the flag opens a case, ends this lease, offers a break.
const escalateDialog = $("escalate-dialog");
function openEscalate() {
  if (!current) return;
  const now = surfer.getCurrentTime();
  const duration = current.clip.duration_ms / 1000;
  $("escalate-start").value = Math.max(0, now - 2).toFixed(1);
  $("escalate-end").value = Math.min(duration, Math.max(now + 2, 0.1)).toFixed(1);
  $("escalate-start").max = $("escalate-end").max = duration.toFixed(1);
  $("escalate-error").hidden = true;
  $("escalate-form").hidden = false;
  $("escalated").hidden = true;
  surfer.pause();
  escalateDialog.showModal();
  $("escalate-category").focus();
}
$("escalate").addEventListener("click", openEscalate);
$("escalate-form").addEventListener("submit", async (event) => {
  if (event.submitter?.value !== "escalate" || !current) return;
  event.preventDefault();
  const body = {
    category: $("escalate-category").value,
    start_ms: Math.round(Number($("escalate-start").value) * 1000),
    end_ms: Math.round(Number($("escalate-end").value) * 1000),
    note: $("escalate-note").value,
  };
  autosave.pause();
  const { status, data } = await api("POST", `/api/v1/clips/${current.clip.id}/escalations`, body);
  if (status !== 201) {
    autosave.resume();
    $("escalate-error").textContent = `Not escalated: ${errorMessage(data)}`;
    $("escalate-error").hidden = false;
    return;
  }
  autosave.reset();
  current = null; // the clip is the case's now: this page lets go of it
  surfer.pause();
  $("break-minutes").textContent = String(Math.round(data.wellbeing.break_seconds / 60));
  $("support-contact").textContent = `Support: ${data.wellbeing.support_contact}`;
  $("escalate-form").hidden = true;
  $("escalated").hidden = false;
  $("take-break").focus();
});
$("take-break").addEventListener("click", async () => {
  await api("POST", "/api/v1/my/wellbeing/break");
  location.assign("/my/escalations");
});
$("escalated-continue").addEventListener("click", () => {
  escalateDialog.close();
  advance(null);
});

// --- Live events: a clip withdrawn mid-lease, news of one's escalations ---------------------------

/** The API's answer when this reviewer's own lease was withdrawn: 410 with reason "withdrawn". */
function isWithdrawn({ status, data }) {
  return status === 410 && data?.reason === "withdrawn";
}

/**
 * The clip was taken away mid-lease, said by the websocket or, with the socket down, by the API.
 * reason "break": the reviewer started a break, and the clip went back to the queue.
 */
function withdrawn(clipId, reason) {
  if (next && next !== "empty" && next.clip.id === clipId) {
    next = null; // the clip claimed ahead went: claim another at submit time
    dropPreload();
  }
  if (!current || current.clip.id !== clipId || editor.dataset.lease === "withdrawn") return;
  // Nothing of it can be saved any more, and its words and audio do not stay on screen. The
  // page keeps `current`, so Ctrl+Enter (submit) moves on to the next clip.
  autosave.pause();
  surfer.pause();
  if (reason === "break") {
    current = null;
    editor.dataset.lease = "ended";
    say("Your queue is paused for a break, so this clip went back to the queue. Take care.", "info");
    return;
  }
  player.removeAttribute("src");
  player.load();
  transcript.value = "";
  segments.load([]);
  autosave.reset(); // what was unsaved is of a recording that must go: forget it, and save nothing more
  autosave.pause();
  leaseClock.stop("Withdrawn");
  editor.dataset.lease = "withdrawn";
  say(
    "This clip was withdrawn: the person recorded opted out or asked for deletion, or a supervisor moved it. " +
      "Press Ctrl+Enter for the next clip.",
    "error",
  );
}

function listen() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/reviewer/`);
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "lease.withdrawn") withdrawn(event.clip, event.reason);
    else if (event.type === "escalation.acknowledged") say("A supervisor acknowledged your escalation.", "info");
    else if (event.type === "escalation.closed") say("Your escalation was closed.", "info");
  });
  socket.addEventListener("close", () => setTimeout(listen, 10000));
}
listen();

// --- Keys -----------------------------------------------------------------------------------------

bindKeys(
  config.keymap,
  {
    play_pause: togglePlay,
    back_short: () => seekBy(-1.5),
    forward_short: () => seekBy(1.5),
    back_long: () => seekBy(-5),
    forward_long: () => seekBy(5),
    slower: () => setSpeed(speedIndex() - 1),
    faster: () => setSpeed(speedIndex() + 1),
    to_start: () => setTime(0),
    add_segment: () => segments.addAt(position()),
    next_segment: () => segments.step(1),
    previous_segment: () => segments.step(-1),
    delete_segment: () => segments.removeSelected(),
    loop: toggleLoop,
    zoom_in: () => waveform.zoom(1),
    zoom_out: () => waveform.zoom(-1),
    focus_transcript: () => transcript.focus(),
    submit_next: () => submit(),
    false_wake: () => submit({ falseWake: true }),
    skip: openSkip,
    escalate: openEscalate,
    help: () => {
      $("help").hidden = !$("help").hidden;
    },
  },
  { paused: () => Boolean(document.querySelector("dialog[open]")) || !current },
);

// Leaving with unsaved words asks first; the words are on the server once the save lands.
window.addEventListener("beforeunload", (event) => {
  if (autosave.dirty || autosave.inFlight) event.preventDefault();
});

const leaseClock = new LeaseClock({
  element: $("lease-status"),
  leaseSeconds: config.lease_seconds,
  activeWindowSeconds: config.active_window_seconds,
  isPlaying: () => surfer.isPlaying(),
  onEnded: leaseLost,
  onWithdrawn: () => current && withdrawn(current.clip.id),
});

show(initial.clip, initial.lease);
