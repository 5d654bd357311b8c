/**
 * `GET /app.js`: the dashboard's script, plain DOM. Worker text only ever
 * reaches the page through `textContent` (never `innerHTML`), with control
 * characters shown as `\xNN`.
 *
 * @module
 */

/** The script text. */
export const APP_JS = String.raw`"use strict";
(() => {
  const MAX_LINES = 1000;
  const LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];
  const $ = (id) => document.getElementById(id);
  const groupsEl = $("groups"), logEl = $("log");
  let instances = [], serverNow = Date.now(), clockSkew = 0, paused = false, held = [];
  let canRestartInstance = false;
  const groupViews = new Map();

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function visible(s) {
    return String(s).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
      (c) => "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"));
  }
  function duration(ms) {
    if (!(ms >= 0)) return "-";
    const s = Math.floor(ms / 1000);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + (s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h" + Math.floor((s % 3600) / 60) + "m";
    return Math.floor(s / 86400) + "d" + Math.floor((s % 86400) / 3600) + "h";
  }
  function bytes(n) {
    if (n === undefined) return "-";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
  }
  function say(text, bad) {
    const m = $("message");
    m.textContent = text;
    m.className = bad ? "lvl-error" : "muted";
  }
  async function act(path, body) {
    say("…");
    try {
      const res = await fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body || {}),
        credentials: "same-origin",
      });
      const j = await res.json().catch(() => ({}));
      say(j.message || j.error || res.status + " " + res.statusText, !res.ok);
    } catch (e) {
      say(String(e), true);
    }
  }

  const LIVE = new Set(["starting", "running", "stopping"]);
  const COLS = ["host", "id/groupId", "pid", "state", "ready", "uptime", "restarts", "last seen", "CPU", "memory", ""];

  function groupView(name) {
    let v = groupViews.get(name);
    if (v) return v;
    const sec = el("section", undefined, "group");
    sec.dataset.group = name;
    const head = el("div", undefined, "group-head");
    const title = el("h2", name);
    const totals = el("span", "", "muted");
    const mk = (label, path, body) => {
      const b = el("button", label);
      b.type = "button";
      b.addEventListener("click", () => act("/api/groups/" + encodeURIComponent(name) + "/" + path, body && body()));
      return b;
    };
    const scaleInput = el("input");
    scaleInput.type = "number"; scaleInput.min = "1"; scaleInput.max = "10000";
    scaleInput.setAttribute("aria-label", "instances per host");
    head.append(title, totals, mk("Suspend", "suspend"), mk("Resume", "resume"), mk("Restart", "restart"),
      scaleInput, mk("Scale", "scale", () => ({ instances: Number(scaleInput.value) })));
    const table = el("table");
    const tr = el("tr");
    COLS.forEach((c, i) => tr.append(el("th", c, i >= 5 && i <= 9 ? "num" : "")));
    const thead = el("thead"); thead.append(tr);
    const tbody = el("tbody"), tfoot = el("tfoot");
    table.append(thead, tbody, tfoot);
    sec.append(head, table);
    groupsEl.append(sec);
    v = { sec, totals, tbody, tfoot, scaleInput };
    groupViews.set(name, v);
    return v;
  }

  function renderInstances() {
    const now = Date.now() + clockSkew;
    const byGroup = new Map();
    for (const i of instances) {
      if (!byGroup.has(i.group)) byGroup.set(i.group, []);
      byGroup.get(i.group).push(i);
    }
    for (const [name, v] of groupViews) if (!byGroup.has(name)) { v.sec.remove(); groupViews.delete(name); }
    for (const [name, list] of byGroup) {
      const v = groupView(name);
      const rows = [];
      let cpu = 0, rss = 0, running = 0;
      for (const i of list) {
        const live = LIVE.has(i.state);
        if (i.state === "running") running++;
        cpu += i.cpu || 0; rss += i.rss || 0;
        const tr = el("tr");
        tr.dataset.id = String(i.id);
        const ready = i.ready === undefined
          ? i.state === "running" && i.lastSeen > i.startedAt
          : i.ready;
        const cells = [
          [i.host], [i.id + "/" + i.groupId], [live && i.pid !== undefined ? i.pid : "-", "pid"],
          [i.state === "failed" && i.lastReason ? "failed (" + i.lastReason + ")" : i.state, "state-" + i.state],
          [ready ? "yes" : "no"],
          [live && i.startedAt ? duration(now - i.startedAt) : "-", "num"], [i.restarts, "num"],
          [i.lastSeen ? duration(now - i.lastSeen) + " ago" : "-", "num"],
          [i.cpu === undefined ? "-" : i.cpu.toFixed(1) + " %", "num"], [bytes(i.rss), "num"],
        ];
        for (const [text, cls] of cells) tr.append(el("td", text, cls));
        const td = el("td");
        if (canRestartInstance) {
          const b = el("button", "Restart");
          b.type = "button";
          b.title = "restart this instance";
          b.addEventListener("click", () => act("/api/instances/" + i.id + "/restart"));
          td.append(b);
        }
        tr.append(td);
        rows.push(tr);
      }
      v.tbody.replaceChildren(...rows);
      const t = el("tr", undefined, "totals");
      const total = [["total"], [list.length + " instances"], [""], [running + " running"], [""], [""], [""], [""],
        [cpu.toFixed(1) + " %", "num"], [bytes(rss), "num"], [""]];
      for (const [text, cls] of total) t.append(el("td", text, cls));
      v.tfoot.replaceChildren(t);
      v.totals.textContent = running + "/" + list.length + " running";
    }
    fillSelect($("f-group"), [...byGroup.keys()]);
    fillSelect($("f-host"), [...new Set(instances.map((i) => i.host))]);
  }
  function fillSelect(sel, values) {
    const have = [...sel.options].slice(1).map((o) => o.value);
    if (have.join("\u0000") === values.join("\u0000")) return;
    const cur = sel.value;
    sel.replaceChildren(sel.options[0]);
    for (const v of values) { const o = el("option", v); o.value = v; sel.append(o); }
    sel.value = values.includes(cur) ? cur : "";
  }

  function wanted(r) {
    const g = $("f-group").value, h = $("f-host").value, inst = $("f-instance").value.trim();
    const min = LEVELS.indexOf($("f-level").value);
    if (g && r.group !== g) return false;
    if (h && r.host !== h) return false;
    if (inst && String(r.id) !== inst && r.instance !== inst) return false;
    return LEVELS.indexOf(r.level) >= min;
  }
  function lineOf(r) {
    const d = el("div", undefined, "line lvl-" + r.level);
    const t = new Date(r.time);
    d.append(el("span", t.toLocaleTimeString(), "muted"), el("span", r.level));
    if (r.group !== undefined) d.append(el("span", "[" + visible(r.group) + "]"));
    if (r.host !== undefined) d.append(el("span", "[" + visible(r.host) + "]"));
    if (r.instance !== undefined) d.append(el("span", "[" + visible(r.instance) + "]"));
    let text = visible(r.message);
    if (r.context !== undefined) text += " " + visible(JSON.stringify(r.context));
    d.append(el("span", text, "msg"));
    return d;
  }
  function append(nodes) {
    if (nodes.length === 0) return;
    const stick = logEl.scrollTop + logEl.clientHeight >= logEl.scrollHeight - 4;
    logEl.append(...nodes);
    while (logEl.childElementCount > MAX_LINES) logEl.firstElementChild.remove();
    if (stick) logEl.scrollTop = logEl.scrollHeight;
  }
  function gap(text) {
    return el("div", text, "line gap");
  }
  let pending = [];
  function show(node) {
    if (paused) {
      held.push(node);
      if (held.length > MAX_LINES) held.splice(0, held.length - MAX_LINES);
      $("held").textContent = held.length + " held";
      return;
    }
    pending.push(node);
    if (pending.length === 1) requestAnimationFrame(() => { append(pending); pending = []; });
  }

  $("pause").addEventListener("click", () => {
    paused = !paused;
    $("pause").textContent = paused ? "Resume log" : "Pause";
    if (!paused) { append(held); held = []; $("held").textContent = ""; }
  });
  $("clear").addEventListener("click", () => logEl.replaceChildren());
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  $("stop").addEventListener("click", () => { $("confirm-stop").hidden = false; $("stop").hidden = true; });
  $("stop-no").addEventListener("click", () => { $("confirm-stop").hidden = true; $("stop").hidden = false; });
  $("stop-yes").addEventListener("click", () => {
    $("confirm-stop").hidden = true; $("stop").hidden = false;
    act("/api/stop");
  });

  const es = new EventSource("/api/events");
  es.addEventListener("open", () => { $("status").textContent = "live"; });
  es.addEventListener("error", () => { $("status").textContent = "disconnected, retrying…"; });
  es.addEventListener("instances", (e) => {
    const d = JSON.parse(e.data);
    instances = d.instances; serverNow = d.now; clockSkew = serverNow - Date.now();
    canRestartInstance = d.canRestartInstance === true;
    renderInstances();
  });
  es.addEventListener("log", (e) => {
    const r = JSON.parse(e.data);
    if (wanted(r)) show(lineOf(r));
  });
  es.addEventListener("missed", (e) => {
    const d = JSON.parse(e.data);
    if (d.missed) show(gap("… " + d.missed + " records missed (this page fell behind)"));
    if (d.skipped) show(gap("… " + d.skipped + " records skipped (more than the stream's rate)"));
  });
  setInterval(renderInstances, 1000);
})();
`;
