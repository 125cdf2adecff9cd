// embedlab's web page: plain JavaScript, no build step, no library. Every text that comes from
// data is written with textContent (never innerHTML), so a key such as <img onerror=...> stays text.
"use strict";

const TOKEN = "embedlab.token"; // sessionStorage: the API key lives as long as the tab
const $ = (id) => document.getElementById(id);

class NeedsKey extends Error {}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

async function api(path, body) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN);
  if (token) headers["Authorization"] = "Bearer " + token;
  const init = { method: body === undefined ? "GET" : "POST", headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const data = await r.json().catch(() => ({}));
  const message = (data.error && data.error.message) || `${r.status} ${r.statusText}`;
  if (r.status === 401) throw new NeedsKey(message);
  if (!r.ok) throw new Error(message);
  return data;
}

async function apiImage(path) {
  // an image route's answer as an object URL (an <img src> could not send the bearer token)
  const headers = {};
  const token = sessionStorage.getItem(TOKEN);
  if (token) headers["Authorization"] = "Bearer " + token;
  const r = await fetch(path, { headers });
  if (r.status === 401) throw new NeedsKey("the API key was refused");
  if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
  return URL.createObjectURL(await r.blob());
}

function thumbnail(key, cls) {
  // an <img> that fills in with the projector source's thumbnail of ``key`` (or stays empty)
  const img = el("img", undefined, cls);
  img.alt = key;
  const source = $("pj-source").value;
  apiImage(`/v1/ui/thumbnails?source=${encodeURIComponent(source)}&key=${encodeURIComponent(key)}`)
    .then((url) => { img.src = url; img.onload = () => URL.revokeObjectURL(url); })
    .catch(() => img.classList.add("missing"));
  return img;
}

function fill(select, names) {
  for (const name of names) select.append(new Option(name, name));
}

const VIEWS = ["playground", "projector", "reports"];

function show() {
  const wanted = location.hash.slice(1);
  const view = VIEWS.includes(wanted) ? wanted : "playground";
  for (const v of VIEWS) $(v).hidden = v !== view;
  for (const a of document.querySelectorAll("nav a[data-view]")) {
    a.classList.toggle("active", a.dataset.view === view);
  }
  if (view === "projector") projectorReady();
}

async function start() {
  $("error").textContent = "";
  try {
    const catalog = await api("/v1/ui/catalog");
    $("login").hidden = true;
    show();
    for (const id of ["collection", "faq", "report", "run", "pj-source"]) {
      for (const o of [...$(id).options]) if (o.value) o.remove();
    }
    modelsServed(catalog.models);
    fill($("collection"), catalog.collections);
    fill($("faq"), catalog.faqs.map((f) => f.id));
    fill($("report"), catalog.reports);
    fill($("run"), catalog.runs);
    fill($("pj-source"), catalog.vectors);
    const parts = [`${catalog.models.length} models`, `${catalog.collections.length} collections`,
                   `${catalog.faqs.length} FAQs`];
    $("status").textContent = parts.join(" · ");
    $("compare").disabled = catalog.models.length === 0;
    if (catalog.models.length === 0) $("error").textContent = "This server serves no model.";
  } catch (e) {
    if (e instanceof NeedsKey) {
      sessionStorage.removeItem(TOKEN);
      for (const v of VIEWS) $(v).hidden = true;
      $("login").hidden = false;
      $("login-error").textContent = e.message;
      $("token").focus();
    } else {
      show();
      $("error").textContent = e.message;
    }
  }
}

// -- reports -------------------------------------------------------------------------------------
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#2457c5", "#d9822b", "#2e9e5b", "#b3261e", "#7a4cc2", "#5b6475", "#c2478f", "#1d8a99"];

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function fmt(v) {
  if (v === null || v === undefined) return "-";
  const x = Number(v);
  return x !== 0 && Math.abs(x) < 0.001 ? x.toExponential(2) : x.toFixed(4);
}

function headed(table, names) {
  // empties ``table``, writes a header row of ``names``, returns the body to fill
  const head = el("tr");
  names.forEach((n) => head.append(el("th", n)));
  const thead = el("thead"), body = el("tbody");
  thead.append(head);
  table.replaceChildren(thead, body);
  return body;
}

function reportTable(r) {
  const body = headed($("report-table"), ["task", "metric", ...r.models]);
  for (const task of r.tasks) {
    const tr = el("tr");
    const cells = r.models.map((m) => r.cells.find((c) => c.model === m && c.task === task));
    const metric = (cells.find((c) => c && c.metric) || {}).metric || "";
    tr.append(el("td", task), el("td", metric));
    const best = Math.max(...cells.map((c) => (c && c.main !== null ? c.main : -Infinity)));
    cells.forEach((c, j) => {
      const td = el("td", c ? (c.main === null ? "skipped" : fmt(c.main)) : "");
      td.dataset.task = task;
      td.dataset.model = r.models[j];
      if (c && c.main !== null) td.dataset.value = String(c.main);
      if (c && c.skipped) td.title = c.skipped;
      if (c && c.main !== null && c.main === best && r.models.length > 1) td.classList.add("best");
      tr.append(td);
    });
    body.append(tr);
  }
}

function reportBars(r) {
  const box = $("report-bars");
  box.replaceChildren();
  const models = r.models.filter((m) => !m.includes("@") && !m.includes("~"));
  const group = 24 * models.length + 24, h = 220, top = 10, bottom = 60, left = 40;
  const width = Math.max(left + group * r.tasks.length + 10, left + 140 * models.length);
  const chart = svg("svg", { width, height: h + top + bottom, role: "img" });
  chart.append(svg("line", { x1: left, y1: top + h, x2: width, y2: top + h, stroke: "#999" }));
  chart.append(svg("text", { x: 2, y: top + 8 }, "1.0"), svg("text", { x: 2, y: top + h }, "0"));
  r.tasks.forEach((task, t) => {
    models.forEach((m, j) => {
      const c = r.cells.find((x) => x.model === m && x.task === task);
      if (!c || c.main === null) return;
      const v = Math.max(0, Math.min(1, c.main));
      const bar = svg("rect", { x: left + t * group + j * 24, y: top + h * (1 - v), width: 20,
                                height: h * v, fill: COLOURS[j % COLOURS.length] });
      bar.append(svg("title", {}, `${task} · ${m}: ${fmt(c.main)}`));
      chart.append(bar);
    });
    chart.append(svg("text", { x: left + t * group, y: top + h + 14,
                               transform: `rotate(30 ${left + t * group} ${top + h + 14})` }, task));
  });
  models.forEach((m, j) => {
    chart.append(svg("rect", { x: left + j * 140, y: h + top + bottom - 12, width: 10, height: 10,
                               fill: COLOURS[j % COLOURS.length] }));
    chart.append(svg("text", { x: left + j * 140 + 14, y: h + top + bottom - 3 }, m));
  });
  box.append(chart);
}

function retentionTable(r) {
  $("retention-box").hidden = r.retention.length === 0;
  if (!r.retention.length) { $("retention-table").replaceChildren(); return; }
  const body = headed($("retention-table"), ["variant", "bytes/vector", "mean kept", ...r.tasks]);
  for (const v of r.retention) {
    const tr = el("tr");
    tr.append(el("td", v.variant), el("td", v.bytes_per_vector ?? "-"),
              el("td", v.mean_retained === null ? "-" : `${(100 * v.mean_retained).toFixed(1)}%`));
    r.tasks.forEach((t) => {
      const kept = v.retained[t];
      tr.append(el("td", kept === undefined ? "-" : `${(100 * kept).toFixed(1)}%`));
    });
    body.append(tr);
  }
}

function retentionChart(r) {
  // the retention curve: score kept (mean over tasks) against bytes per vector, on a log scale,
  // one line a base model through its variants
  const box = $("retention-chart");
  box.replaceChildren();
  const points = r.retention.filter((v) => v.mean_retained !== null && v.bytes_per_vector > 0);
  if (!points.length) return;
  const w = 560, h = 200, left = 48, top = 10, bottom = 30;
  const lx = points.map((v) => Math.log2(v.bytes_per_vector));
  const x0 = Math.min(...lx) - 0.5, x1 = Math.max(...lx) + 0.5;
  const ys = points.map((v) => v.mean_retained);
  const y0 = Math.min(0.5, ...ys), y1 = Math.max(1, ...ys);
  const sx = (b) => left + ((Math.log2(b) - x0) / (x1 - x0)) * (w - left - 10);
  const sy = (y) => top + (1 - (y - y0) / (y1 - y0)) * h;
  const chart = svg("svg", { width: w, height: h + top + bottom, role: "img" });
  chart.append(svg("line", { x1: left, y1: sy(1), x2: w, y2: sy(1), stroke: "#bbb",
                             "stroke-dasharray": "4 3" }));
  chart.append(svg("text", { x: 0, y: sy(1) + 4 }, "100%"),
               svg("text", { x: 0, y: sy(y0) }, `${(100 * y0).toFixed(0)}%`));
  const bases = [...new Set(points.map((v) => v.base))];
  bases.forEach((base, k) => {
    const mine = points.filter((v) => v.base === base)
      .sort((a, b) => a.bytes_per_vector - b.bytes_per_vector);
    const colour = COLOURS[k % COLOURS.length];
    const at = (v) => [sx(v.bytes_per_vector), sy(v.mean_retained)];
    chart.append(svg("polyline", { points: mine.map((v) => at(v).join(",")).join(" "),
                                   fill: "none", stroke: colour, "stroke-width": 1.5 }));
    for (const v of mine) {
      const [x, y] = at(v);
      const dot = svg("circle", { cx: x, cy: y, r: 4, fill: colour, "data-variant": v.variant,
                                  "data-kept": v.mean_retained });
      const kept = `${(100 * v.mean_retained).toFixed(1)}% kept`;
      dot.append(svg("title", {}, `${v.variant}: ${v.bytes_per_vector} bytes, ${kept}`));
      chart.append(dot, svg("text", { x: x + 6, y: y - 6 }, v.variant));
    }
  });
  chart.append(svg("text", { x: left, y: h + top + bottom - 4 }, "bytes per vector (log scale)"));
  box.append(chart);
}

function lineChart(name, points) {
  const w = 560, h = 160, left = 56, top = 8, bottom = 22;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = (x) => left + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * (w - left - 8);
  const sy = (y) => top + (y1 > y0 ? 1 - (y - y0) / (y1 - y0) : 0.5) * h;
  const part = el("div", undefined, "series chart");
  part.dataset.series = name;
  part.dataset.points = String(points.length);
  part.append(el("h3", `${name} (last ${fmt(ys[ys.length - 1])})`));
  const chart = svg("svg", { width: w, height: h + top + bottom, role: "img" });
  chart.append(svg("polyline", { points: points.map((p) => `${sx(p[0])},${sy(p[1])}`).join(" "),
                                 fill: "none", stroke: COLOURS[0], "stroke-width": 1.5 }));
  chart.append(svg("text", { x: 0, y: top + 9 }, fmt(y1)), svg("text", { x: 0, y: top + h }, fmt(y0)));
  chart.append(svg("text", { x: left, y: top + h + 16 }, `step ${x0}`),
               svg("text", { x: w - 90, y: top + h + 16 }, `step ${x1}`));
  part.append(chart);
  return part;
}

async function openView(select, route, box, render) {
  // the report or training run chosen in ``select``, read from /v1/ui/ROUTE/NAME into ``box``
  const name = $(select).value;
  $("reports-error").textContent = "";
  if (!name) { $(box).hidden = true; return; }
  try {
    render(await api(`/v1/ui/${route}/${encodeURIComponent(name)}`));
    $(box).hidden = false;
  } catch (e) {
    if (e instanceof NeedsKey) { start(); return; }
    $("reports-error").textContent = e.message;
  }
}

const openReport = () => openView("report", "reports", "report-box", (r) => {
  reportTable(r);
  reportBars(r);
  retentionTable(r);
  retentionChart(r);
});

const openRun = () => openView("run", "runs", "run-box", (r) => {
  const box = $("run-charts");
  box.replaceChildren();
  for (const [series, points] of Object.entries(r.series)) {
    if (points.length) box.append(lineChart(series, points));
  }
});

// -- projector -----------------------------------------------------------------------------------
let glReady = false;

function projectorReady() {
  if (glReady) return true;
  try {
    Projector.init($("pj-canvas"));
    Projector.attach($("pj-canvas"), showPoint, showSelection, $("pj-box"));
    glReady = true;
  } catch (e) {
    $("pj-error").textContent = e.message;
  }
  return glReady;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function project() {
  const source = $("pj-source").value;
  $("pj-error").textContent = "";
  if (!source) { $("pj-error").textContent = "Choose a vectors file."; return; }
  if (!projectorReady()) return;
  const body = { source, method: $("pj-method").value, dims: Number($("pj-dims").value) };
  $("pj-go").disabled = true;
  try {
    let job = await api("/v1/ui/projections", body);
    while (job.status === "running") {
      $("pj-status").textContent = `projecting ${source} (${job.method}, ${job.dims}D): ${job.seconds.toFixed(1)} s`;
      await sleep(300);
      job = await api(`/v1/ui/projections/${encodeURIComponent(job.job)}`);
    }
    if (job.status === "failed") throw new Error(job.error);
    const t0 = performance.now();
    Projector.load(job);
    Projector.draw();
    const firstDraw = performance.now() - t0;
    const colour = $("pj-colour");
    for (const o of [...colour.options]) if (o.value) o.remove();
    fill(colour, Object.keys(job.columns).filter((c) => c !== "text"));
    $("pj-side").hidden = true;
    $("pj-selection").hidden = true;
    $("pj-status").textContent = `${job.ids.length.toLocaleString("en")} points · ${job.method} ` +
      `${job.dims}D · ${job.seconds.toFixed(1)} s on the server · first draw ${firstDraw.toFixed(0)} ms`;
    $("pj-canvas").dataset.points = String(job.ids.length);
  } catch (e) {
    if (e instanceof NeedsKey) { start(); return; }
    $("pj-error").textContent = e.message;
  } finally {
    $("pj-go").disabled = false;
  }
}

async function showPoint(i) {
  const st = Projector.st, key = st.ids[i];
  $("pj-side").hidden = false;
  $("pj-picked").textContent = key;
  $("pj-side").dataset.key = key;
  $("pj-image").replaceChildren(...(st.images ? [thumbnail(key, "picked")] : []));
  const meta = $("pj-meta");
  meta.replaceChildren();
  for (const [name, values] of Object.entries(st.columns)) meta.append(el("dt", name), el("dd", values[i]));
  const list = $("pj-neighbours");
  list.replaceChildren(el("li", "..."));
  try {
    const r = await api(`/v1/ui/neighbours?source=${encodeURIComponent($("pj-source").value)}` +
                        `&key=${encodeURIComponent(key)}&k=10`);
    if ($("pj-side").dataset.key !== key) return; // another point was picked meanwhile
    list.replaceChildren();
    const marked = [];
    for (const n of r.data) {
      const li = el("li");
      li.dataset.key = n.key;
      if (st.images) li.append(thumbnail(n.key, "thumb"));
      li.append(el("span", n.key), el("span", n.score.toFixed(4), "score"));
      const j = st.index.get(n.key);
      if (j !== undefined) {
        marked.push(j);
        li.addEventListener("click", () => { Projector.flyTo(j); showPoint(j); });
      }
      list.append(li);
    }
    Projector.mark(marked);
  } catch (e) {
    list.replaceChildren(el("li", e.message, "error"));
  }
}

let selected = [];

function showSelection(indices) {
  selected = indices.map((i) => Projector.st.ids[i]);
  $("pj-selection").hidden = false;
  $("pj-count").textContent = selected.length.toLocaleString("en");
  $("pj-export").disabled = selected.length === 0;
}

function exportIds() {
  const blob = new Blob([selected.join("\n") + "\n"], { type: "text/plain" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${$("pj-source").value || "points"}-selection.txt`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function find(ev) {
  ev.preventDefault();
  const key = $("pj-search").value;
  const i = Projector.st.index.get(key);
  $("pj-error").textContent = "";
  if (i === undefined) { $("pj-error").textContent = `${key} is not among the points`; return; }
  Projector.flyTo(i);
  showPoint(i);
}

document.addEventListener("DOMContentLoaded", () => {
  window.addEventListener("hashchange", show);
  $("pj-go").addEventListener("click", project);
  $("pj-colour").addEventListener("change", () => Projector.colour($("pj-colour").value));
  $("pj-find").addEventListener("submit", find);
  $("pj-export").addEventListener("click", exportIds);
  $("report").addEventListener("change", openReport);
  $("run").addEventListener("change", openRun);
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    $("login-error").textContent = "";
    sessionStorage.setItem(TOKEN, $("token").value);
    $("token").value = "";
    start();
  });
  $("compare").addEventListener("click", compare);
  $("model").addEventListener("change", modelChosen);
  start();
});
