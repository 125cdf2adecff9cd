// The playground: texts (and images, for a multimodal model) compared under one served model as
// a heat map, their neighbours in a collection, their FAQ answers, and the calls that reproduce
// them. Helpers ($, el, api, NeedsKey, start) come from app.js; every text from data is written
// with textContent.
"use strict";

let MODELS = new Map(); // id -> {id, dimensions, kind}, from the catalog

function modelsServed(models) {
  MODELS = new Map(models.map((m) => [m.id, m]));
  const select = $("model");
  for (const o of [...select.options]) o.remove();
  for (const m of models) select.append(new Option(`${m.id} (${m.kind}, ${m.dimensions})`, m.id));
  modelChosen();
}

function modelChosen() {
  const m = MODELS.get($("model").value);
  $("images-box").hidden = !(m && m.kind === "multimodal");
}

function shade(v) {
  // -1 red ... 0 white ... 1 blue
  const light = 100 - 55 * Math.min(1, Math.abs(v));
  return v >= 0 ? `hsl(220, 75%, ${light}%)` : `hsl(5, 75%, ${light}%)`;
}

function label(item) {
  // a text, or an image's name with its thumbnail (a data URL the page read itself)
  if (typeof item === "string") return [el("span", item)];
  const img = el("img", undefined, "thumb");
  img.src = item.url;
  img.alt = item.name;
  return [img, el("span", item.name)];
}

function heatmap(items, matrix) {
  const names = items.map((it) => (typeof it === "string" ? it : it.name));
  const table = $("heatmap");
  table.replaceChildren();
  const head = el("thead");
  const top = el("tr");
  top.append(el("th"));
  items.forEach((it, j) => {
    const th = el("th");
    th.append(...label(it));
    th.title = names[j];
    th.scope = "col";
    top.append(th);
  });
  head.append(top);
  const body = el("tbody");
  matrix.forEach((row, i) => {
    const tr = el("tr");
    const th = el("th");
    th.append(...label(items[i]));
    th.title = names[i];
    th.scope = "row";
    tr.append(th);
    row.forEach((v, j) => {
      const td = el("td", v.toFixed(3));
      td.dataset.value = String(v);
      td.dataset.row = String(i);
      td.dataset.col = String(j);
      td.title = `${names[i]}\n${names[j]}\ncosine ${v.toFixed(4)}`;
      td.style.backgroundColor = shade(v);
      if (Math.abs(v) > 0.6) td.style.color = "#fff";
      tr.append(td);
    });
    body.append(tr);
  });
  table.append(head, body);
}

async function perText(section, name, texts, show) {
  // one block a text in the section's box: the text as a heading, then what ``show`` adds
  const box = $(section);
  box.replaceChildren();
  $(`${section}-of`).textContent = name;
  $(`${section}-box`).hidden = false;
  for (const text of texts) {
    const part = el("div", undefined, "hits");
    part.append(el("h3", text));
    box.append(part);
    try {
      await show(part, text);
    } catch (e) {
      part.append(el("p", e.message, "error"));
    }
  }
}

function neighbours(collection, texts) {
  return perText("neighbours", collection, texts, async (part, text) => {
    const r = await api("/v1/search", { collection, query: text, k: 5 });
    const list = el("ol");
    for (const hit of r.data) {
      const li = el("li");
      li.append(el("b", hit.id), document.createTextNode(" " + (hit.text || "")),
                el("span", hit.score.toFixed(4), "score"));
      list.append(li);
    }
    part.append(list);
  });
}

function answers(faq, texts) {
  return perText("answers", faq, texts, async (part, text) => {
    const r = await api("/v1/faq/ask", { faq, question: text, k: 3 });
    const line = `confidence ${r.confidence.toFixed(2)}, threshold ${r.threshold.toFixed(2)}`;
    if (r.answered && r.answers.length) {
      const p = el("p", undefined, "answer");
      p.append(el("span", r.answers[0].text), el("span", line, "score"));
      part.append(p);
    } else {
      part.append(el("p", `no confident answer (${line})`, "below"));
    }
  });
}

function snippets(model, texts, images) {
  // the calls that reproduce the results; an image is read from its file by name
  const origin = window.location.origin;
  const keyed = sessionStorage.getItem(TOKEN) !== null;
  const quote = (s) => s.replaceAll("'", "'\\''");
  let body = quote(JSON.stringify({ model, texts }));
  if (images.length) { // each file's base64 spliced in by the shell: '..."'"$(base64 ...)"'"...'
    const files = images.map((im) => `"'"$(base64 -w0 '${quote(im.name)}')"'"`);
    body = body.slice(0, -1) + `,"images":[${files.join(",")}]}`;
  }
  $("curl").textContent =
    `curl -s ${origin}/v1/ui/similarity -H 'Content-Type: application/json' \\\n` +
    (keyed ? `  -H "Authorization: Bearer $EMBEDLAB_API_KEY" \\\n` : "") +
    `  -d '${body}'`;
  const inputs = [
    ...texts.map((t) => JSON.stringify(t)),
    ...images.map((im) => `{"type": "image", "data": b64(${JSON.stringify(im.name)})}`),
  ];
  $("openai").textContent =
    "import os\nfrom openai import OpenAI\n\n" +
    (images.length ? "import base64\n" : "") +
    (images.length ? "b64 = lambda path: base64.b64encode(open(path, 'rb').read()).decode()\n" : "") +
    `client = OpenAI(base_url="${origin}/v1", api_key=os.environ.get("EMBEDLAB_API_KEY", "none"))\n` +
    `r = client.embeddings.create(model=${JSON.stringify(model)}, input=[${inputs.join(", ")}])\n` +
    "vectors = [d.embedding for d in r.data]";
}

function readImages() {
  // the chosen files as {name, url: a data URL}, in the order chosen
  const files = $("images-box").hidden ? [] : [...$("images").files];
  return Promise.all(files.map((f) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({ name: f.name, url: reader.result });
    reader.onerror = () => reject(new Error(`${f.name}: ${reader.error}`));
    reader.readAsDataURL(f);
  })));
}

async function compare() {
  const texts = $("texts").value.split("\n").map((t) => t.trim()).filter((t) => t.length > 0);
  const model = $("model").value;
  $("error").textContent = "";
  $("compare").disabled = true;
  try {
    const images = await readImages();
    if (!texts.length && !images.length) throw new Error("Type at least one text.");
    if (texts.length > 64) throw new Error("At most 64 texts at a time.");
    if (images.length > 16) throw new Error("At most 16 images at a time.");
    $("status").textContent = "computing...";
    const r = await api("/v1/ui/similarity", { model, texts, images: images.map((im) => im.url) });
    heatmap([...r.texts, ...images], r.matrix);
    snippets(model, texts, images);
    $("results").hidden = false;
    $("neighbours-box").hidden = true;
    $("answers-box").hidden = true;
    const work = [];
    if ($("collection").value && texts.length) work.push(neighbours($("collection").value, texts));
    if ($("faq").value && texts.length) work.push(answers($("faq").value, texts));
    await Promise.all(work);
    const parts = [`${texts.length} texts`, ...(images.length ? [`${images.length} images`] : []),
                   `${r.usage.total_tokens} tokens`];
    $("status").textContent = parts.join(" · ");
  } catch (e) {
    if (e instanceof NeedsKey) { start(); return; }
    $("error").textContent = e.message;
    $("status").textContent = "";
  } finally {
    $("compare").disabled = false;
  }
}
