// hookline console: the little that needs a script. Everything works without it except live progress.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll("input.pick:not(:disabled)").forEach((box) => { box.checked = all.checked; });
    });
  }
  const panel = document.getElementById("replay-progress");
  if (panel && panel.dataset.done !== "true") poll(panel);
});

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
}

async function poll(panel) {
  const bar = document.getElementById("bar");
  const counter = document.getElementById("counter");
  const state = document.getElementById("state");
  const summary = document.getElementById("summary");
  const body = document.querySelector("#results tbody");
  for (;;) {
    let job;
    try {
      const resp = await fetch(panel.dataset.url, { headers: { Accept: "application/json" } });
      job = await resp.json();
    } catch (err) {
      state.textContent = "lost contact with the console: " + err;
      return;
    }
    bar.max = job.total || 1;
    bar.value = job.handled;
    counter.textContent = job.handled + " of " + (job.total == null ? "…" : job.total);
    body.replaceChildren();
    for (const r of job.results) {
      const tr = document.createElement("tr");
      cell(tr, r.id); cell(tr, r.route); cell(tr, r.outcome, "outcome-" + r.outcome); cell(tr, r.detail);
      body.appendChild(tr);
    }
    if (job.done) {
      state.textContent = job.error ? "stopped: " + job.error : "done";
      if (job.summary) {
        const s = job.summary;
        summary.textContent = "sent " + s.sent + ", skipped " + s.skipped + ", failed " + s.failed +
          (s.interrupted ? "; interrupted: " + s.interrupted : "");
      }
      panel.dataset.done = "true";
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}
