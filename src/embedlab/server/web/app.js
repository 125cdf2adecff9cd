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

function fill(select, names) {
  for (const name of names) select.append(new Option(name, name));
}

async function start() {
  $("error").textContent = "";
  try {
    const catalog = await api("/v1/ui/catalog");
    $("login").hidden = true;
    $("playground").hidden = false;
    for (const id of ["model", "collection", "faq"]) {
      for (const o of [...$(id).options]) if (o.value) o.remove();
    }
    fill($("model"), catalog.models.map((m) => m.id));
    fill($("collection"), catalog.collections);
    fill($("faq"), catalog.faqs.map((f) => f.id));
    const parts = [`${catalog.models.length} models`, `${catalog.collections.length} collections`,
                   `${catalog.faqs.length} FAQs`];
    $("status").textContent = parts.join(" · ");
    $("compare").disabled = catalog.models.length === 0;
    if (catalog.models.length === 0) $("error").textContent = "This server serves no model.";
  } catch (e) {
    if (e instanceof NeedsKey) {
      sessionStorage.removeItem(TOKEN);
      $("playground").hidden = true;
      $("login").hidden = false;
      $("login-error").textContent = e.message;
      $("token").focus();
    } else {
      $("playground").hidden = false;
      $("error").textContent = e.message;
    }
  }
}

function shade(v) {
  // -1 red ... 0 white ... 1 blue
  const light = 100 - 55 * Math.min(1, Math.abs(v));
  return v >= 0 ? `hsl(220, 75%, ${light}%)` : `hsl(5, 75%, ${light}%)`;
}

function heatmap(texts, matrix) {
  const table = $("heatmap");
  table.replaceChildren();
  const head = el("thead");
  const top = el("tr");
  top.append(el("th"));
  texts.forEach((t) => { const th = el("th", t); th.title = t; th.scope = "col"; top.append(th); });
  head.append(top);
  const body = el("tbody");
  matrix.forEach((row, i) => {
    const tr = el("tr");
    const th = el("th", texts[i]);
    th.title = texts[i];
    th.scope = "row";
    tr.append(th);
    row.forEach((v, j) => {
      const td = el("td", v.toFixed(3));
      td.dataset.value = String(v);
      td.dataset.row = String(i);
      td.dataset.col = String(j);
      td.title = `${texts[i]}\n${texts[j]}\ncosine ${v.toFixed(4)}`;
      td.style.backgroundColor = shade(v);
      if (Math.abs(v) > 0.6) td.style.color = "#fff";
      tr.append(td);
    });
    body.append(tr);
  });
  table.append(head, body);
}

async function neighbours(collection, texts) {
  const box = $("neighbours");
  box.replaceChildren();
  $("neighbours-of").textContent = collection;
  $("neighbours-box").hidden = false;
  for (const text of texts) {
    const part = el("div", undefined, "hits");
    part.append(el("h3", text));
    box.append(part);
    try {
      const r = await api("/v1/search", { collection, query: text, k: 5 });
      const list = el("ol");
      for (const hit of r.data) {
        const li = el("li");
        li.append(el("b", hit.id), document.createTextNode(" " + (hit.text || "")),
                  el("span", hit.score.toFixed(4), "score"));
        list.append(li);
      }
      part.append(list);
    } catch (e) {
      part.append(el("p", e.message, "error"));
    }
  }
}

async function answers(faq, texts) {
  const box = $("answers");
  box.replaceChildren();
  $("answers-of").textContent = faq;
  $("answers-box").hidden = false;
  for (const text of texts) {
    const part = el("div", undefined, "hits");
    part.append(el("h3", text));
    box.append(part);
    try {
      const r = await api("/v1/faq/ask", { faq, question: text, k: 3 });
      const line = `confidence ${r.confidence.toFixed(2)}, threshold ${r.threshold.toFixed(2)}`;
      if (r.answered && r.answers.length) {
        const p = el("p", undefined, "answer");
        p.append(el("span", r.answers[0].text), el("span", line, "score"));
        part.append(p);
      } else {
        part.append(el("p", `no confident answer (${line})`, "below"));
      }
    } catch (e) {
      part.append(el("p", e.message, "error"));
    }
  }
}

function snippets(model, texts) {
  const origin = window.location.origin;
  const keyed = sessionStorage.getItem(TOKEN) !== null;
  const body = JSON.stringify({ model, texts }).replaceAll("'", "'\\''");
  $("curl").textContent =
    `curl -s ${origin}/v1/ui/similarity -H 'Content-Type: application/json' \\\n` +
    (keyed ? `  -H "Authorization: Bearer $EMBEDLAB_API_KEY" \\\n` : "") +
    `  -d '${body}'`;
  $("openai").textContent =
    "import os\nfrom openai import OpenAI\n\n" +
    `client = OpenAI(base_url="${origin}/v1", api_key=os.environ.get("EMBEDLAB_API_KEY", "none"))\n` +
    `r = client.embeddings.create(model=${JSON.stringify(model)}, input=${JSON.stringify(texts)})\n` +
    "vectors = [d.embedding for d in r.data]";
}

async function compare() {
  const texts = $("texts").value.split("\n").map((t) => t.trim()).filter((t) => t.length > 0);
  const model = $("model").value;
  $("error").textContent = "";
  if (!texts.length) { $("error").textContent = "Type at least one text."; return; }
  if (texts.length > 64) { $("error").textContent = "At most 64 texts at a time."; return; }
  $("compare").disabled = true;
  $("status").textContent = "computing...";
  try {
    const r = await api("/v1/ui/similarity", { model, texts });
    heatmap(r.texts, r.matrix);
    snippets(model, texts);
    $("results").hidden = false;
    $("neighbours-box").hidden = true;
    $("answers-box").hidden = true;
    const work = [];
    if ($("collection").value) work.push(neighbours($("collection").value, texts));
    if ($("faq").value) work.push(answers($("faq").value, texts));
    await Promise.all(work);
    $("status").textContent = `${texts.length} texts · ${r.usage.total_tokens} tokens`;
  } catch (e) {
    if (e instanceof NeedsKey) { start(); return; }
    $("error").textContent = e.message;
    $("status").textContent = "";
  } finally {
    $("compare").disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    $("login-error").textContent = "";
    sessionStorage.setItem(TOKEN, $("token").value);
    $("token").value = "";
    start();
  });
  $("compare").addEventListener("click", compare);
  start();
});
