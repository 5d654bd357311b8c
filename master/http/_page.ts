/**
 * The dashboard page and its style sheet, as text (no build step, no CDN:
 * the master serves them, so the page works offline and when the library is
 * imported by URL). The script is in `_page_script.ts`.
 *
 * @module
 */

/** `GET /`: the page. Everything dynamic is filled in by `/app.js` with `textContent`. */
export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>distarch</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>distarch</h1>
  <span id="status" class="muted">connecting…</span>
  <span id="message" role="status"></span>
  <span class="spacer"></span>
  <button id="stop" type="button" class="danger">Stop</button>
  <span id="confirm-stop" hidden>
    Stop the master and every instance?
    <button id="stop-yes" type="button" class="danger">Yes, stop</button>
    <button id="stop-no" type="button">Cancel</button>
  </span>
</header>
<main>
  <div id="groups"></div>
  <section id="logs">
    <h2>Log</h2>
    <form id="filters">
      <label>group <select id="f-group"><option value="">all</option></select></label>
      <label>host <select id="f-host"><option value="">all</option></select></label>
      <label>instance <input id="f-instance" size="8" placeholder="id"></label>
      <label>level ≥ <select id="f-level">
        <option value="debug">debug</option><option value="info" selected>info</option>
        <option value="notice">notice</option><option value="warning">warning</option>
        <option value="error">error</option><option value="critical">critical</option>
      </select></label>
      <button id="pause" type="button">Pause</button>
      <button id="clear" type="button">Clear</button>
      <span id="held" class="muted"></span>
    </form>
    <div id="log" aria-live="off"></div>
  </section>
</main>
</body>
</html>
`;

/** `GET /app.css`. */
export const APP_CSS = `
:root { color-scheme: light dark; --line: #8884; --muted: #888; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; }
header { display: flex; gap: .8em; align-items: center; padding: .5em 1em;
  border-bottom: 1px solid var(--line); position: sticky; top: 0; background: Canvas; z-index: 1; }
h1 { font-size: 1.2em; margin: 0; } h2 { font-size: 1.05em; margin: .2em 0; }
.spacer { flex: 1; } .muted { color: var(--muted); }
main { padding: .5em 1em; }
section.group { margin-bottom: 1.2em; }
.group-head { display: flex; gap: .6em; align-items: baseline; flex-wrap: wrap; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .15em .6em; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-weight: 600; } td.num, th.num { text-align: right; }
tr.totals td { font-weight: 600; }
.state-running { color: #2a2; } .state-failed { color: #d33; } .state-suspended { color: #a80; }
button { font: inherit; cursor: pointer; } button.danger { color: #d33; }
input[type=number] { width: 5em; }
#filters { display: flex; gap: .8em; flex-wrap: wrap; align-items: center; margin-bottom: .4em; }
#log { font: 12px/1.35 ui-monospace, monospace; height: 40vh; overflow-y: auto;
  border: 1px solid var(--line); padding: .3em; white-space: pre-wrap; word-break: break-all; }
#log .line span { margin-right: .5em; }
.lvl-warning { color: #a80; } .lvl-error, .lvl-critical, .lvl-alert, .lvl-emergency { color: #d33; }
.lvl-debug { color: var(--muted); } .gap { color: #a80; font-style: italic; }
`;
