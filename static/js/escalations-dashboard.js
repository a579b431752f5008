// Case handlers' dashboard: cases arrive and change over a websocket, deadlines count down live.
const table = document.querySelector("#cases tbody");
const status = document.getElementById("live-status");
const assignedAlert = document.getElementById("assigned-alert");
const rows = new Map();

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function render(item) {
  let row = rows.get(item.id) || table.querySelector(`tr[data-case="${item.id}"]`);
  if (item.state === "closed") {
    if (row) row.remove();
    rows.delete(item.id);
    return;
  }
  const fresh = document.createElement("tr");
  fresh.dataset.case = item.id;
  fresh.className = item.event === "opened" || item.event === "assigned" ? "new" : "";
  fresh.append(cell(`S${item.severity}`), cell(item.category), cell(item.state), cell(item.owner || "—"));
  const deadline = cell("", "deadline");
  deadline.dataset.deadline = item.deadline || "";
  fresh.append(deadline);
  const opened = document.createElement("td");
  const link = document.createElement("a");
  link.href = `/supervise/escalations/${item.id}`;
  link.textContent = new Date(item.opened_at).toLocaleTimeString();
  opened.append(link);
  fresh.append(opened);
  if (row) row.replaceWith(fresh);
  else table.prepend(fresh);
  rows.set(item.id, fresh);
  table.querySelector("tr.empty")?.remove();
  tick();
}

// A case given to this person (new, or re-assigned because its owner missed the deadline).
function assigned(event) {
  render(event.case);
  const why = event.reason === "deadline_missed" ? "Re-assigned to you: not acknowledged in time" : "New case for you";
  assignedAlert.textContent = `${why}: S${event.case.severity} ${event.case.category}. Open it from the table below.`;
  assignedAlert.hidden = false;
  rows.get(event.case.id)?.classList.add("new");
}

function tick() {
  const now = Date.now();
  for (const td of table.querySelectorAll("td.deadline")) {
    if (!td.dataset.deadline) {
      td.textContent = "acknowledged";
      continue;
    }
    const left = Math.round((Date.parse(td.dataset.deadline) - now) / 1000);
    const overdue = left < 0;
    const seconds = Math.abs(left);
    const text = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    td.textContent = overdue ? `overdue by ${text}` : text;
    td.classList.toggle("overdue", overdue);
    td.classList.toggle("urgent", !overdue && left < 60);
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/supervise/escalations/`);
  socket.addEventListener("open", () => (status.textContent = "Live: new cases and changes appear here as they happen."));
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "hello") event.cases.forEach(render);
    else if (event.type === "case") render(event);
    else if (event.type === "assigned") assigned(event);
  });
  socket.addEventListener("close", () => {
    status.textContent = "Live updates lost; reconnecting…";
    setTimeout(connect, 3000);
  });
}

connect();
setInterval(tick, 1000);
tick();
