// chorale studio: the page. Plain JavaScript, no libraries. The server is stateless: this
// page holds the versions of the session (undo/redo) and posts the current piece back for
// audio, sheet music, downloads and regeneration.

const VOICES = ["soprano", "alto", "tenor", "bass"];
const COLOURS = { soprano: "#D55E00", alto: "#E69F00", tenor: "#009E73", bass: "#0072B2" };
const MAJOR = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
const MINOR = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"];
const NOTE_NAMES = ["C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B"];
const SVG_NS = "http://www.w3.org/2000/svg";

const state = {
  info: null,
  versions: [],      // {piece, label, changed: Set of "step,voice" | null, audio: Promise | null, sheet: Promise | null}
  index: -1,
  selection: null,   // [first, last] bar numbers, 1-based, inclusive
  busy: false,
  view: "roll",
};
window.studio = state; // for the browser test and the curious

const $ = (selector) => document.querySelector(selector);
const current = () => state.versions[state.index] || null;

// ------------------------------------------------------------------ talking to the server
async function request(path, { json, form, method = "POST" } = {}) {
  const options = { method };
  if (json !== undefined) {
    options.headers = { "Content-Type": "application/json" };
    options.body = JSON.stringify(json);
  } else if (form !== undefined) {
    options.body = form;
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new Error("the studio's server is not answering (is `chorale studio` still running?)");
  }
  if (!response.ok) {
    let text = `the server answered ${response.status}`;
    try {
      const body = await response.json();
      if (body && body.error) text = body.error;
    } catch { /* not JSON: keep the status line */ }
    throw new Error(text);
  }
  return response;
}

const pieceBody = (piece) => ({
  title: piece.title, tempo: piece.tempo, key: piece.key, known_key: piece.known_key, grid: piece.grid,
  fermatas: piece.fermatas,
});

function showError(text) {
  const box = $("#message");
  box.textContent = text.split("\n")[0];
  box.title = text;
  box.hidden = false;
}
const clearError = () => { $("#message").hidden = true; };

async function busy(button, label, work) {
  if (state.busy) return;
  state.busy = true;
  const original = button.textContent;
  button.textContent = label;
  button.classList.add("busy");
  updateButtons();
  try {
    clearError();
    await work();
  } catch (error) {
    showError(error.message || String(error));
  } finally {
    state.busy = false;
    button.textContent = original;
    button.classList.remove("busy");
    updateButtons();
  }
}

// ------------------------------------------------------------------ versions
function addVersion(piece, label, { keepSelection = false } = {}) {
  const previous = current();
  let changed = null;
  if (previous && keepSelection && previous.piece.steps === piece.steps) {
    changed = new Set();
    piece.grid.forEach((row, s) => row.forEach((p, v) => {
      if (p !== previous.piece.grid[s][v]) changed.add(`${s},${v}`);
    }));
  }
  state.versions = state.versions.slice(0, state.index + 1);
  state.versions.push({ piece, label, changed, audio: null, sheet: null });
  state.index = state.versions.length - 1;
  if (!keepSelection) state.selection = null;
  show();
}

function go(delta) {
  const next = state.index + delta;
  if (state.busy || next < 0 || next >= state.versions.length) return;
  state.index = next;
  const piece = current().piece;
  if (state.selection && state.selection[1] > piece.bars) state.selection = null;
  show();
}

function show() {
  stop();
  const version = current();
  const piece = version.piece;
  $("#piece-title").textContent = piece.title;
  $("#piece-meta").innerHTML = describe(piece);
  $("#version-note").textContent = versionNote(version, state.index + 1);
  $(".fermata-key").hidden = !(piece.fermatas || []).length;
  showVersions();
  $("#version-label").textContent = `version ${state.index + 1} of ${state.versions.length}`;
  $("#version-label").title = version.label;
  $("#clock-total").textContent = clock(duration(piece));
  $("#clock-now").textContent = clock(0);
  drawRoll();
  updateButtons();
  loadAudio(version);
  if (state.view === "sheet") loadSheet(version);
}

function describe(piece) {
  const d = piece.details || {};
  const parts = [`<b>${escape(piece.key)}</b>`, `♩ = ${Math.round(piece.tempo)}`,
    `${piece.bars} bar${piece.bars === 1 ? "" : "s"}`];
  if (d.seed !== undefined) parts.push(`seed ${d.seed}`);
  if (d.loglik !== undefined) parts.push(`log-likelihood ${Number(d.loglik).toFixed(2)}`);
  return parts.join(" · ");
}

function versionNote(version, number) {
  const d = version.piece.details || {};
  const candidate = d.candidates !== undefined && d.candidate !== undefined
    ? ` · candidate ${d.candidate + 1} of ${d.candidates}` : "";
  const faults = version.piece.voice_leading ? ` · ${version.piece.voice_leading}` : "";
  return `Version ${number}: ${version.label}${candidate}${faults}`;
}

function showVersions() {
  const list = $("#version-list");
  list.innerHTML = state.versions.map((v, i) => `<li><button type="button" data-index="${i}"`
    + `${i === state.index ? ' class="current" aria-current="true"' : ""}>`
    + `<span class="n">${i + 1}</span>${escape(v.label)}</button></li>`).join("");
  $("#versions").hidden = !state.versions.length;
}

function updateButtons() {
  const version = current();
  const features = (state.info && state.info.features) || {};
  $("#undo-btn").disabled = state.busy || state.index <= 0;
  $("#redo-btn").disabled = state.busy || state.index >= state.versions.length - 1;
  $("#play-btn").disabled = !version;
  document.querySelectorAll(".downloads button").forEach((b) => { b.disabled = !version; });
  $("#generate-btn").disabled = state.busy;
  $("#harmonize-btn").disabled = state.busy;
  const picked = pickedVoices();
  const regenerate = $("#regenerate-btn");
  regenerate.disabled = state.busy || !version || !state.selection || !picked.length || !features.regenerate;
  regenerate.title = !features.regenerate ? "this version of chorale cannot regenerate bars yet"
    : !version ? "generate a chorale first" : !state.selection ? "select bars on the piano roll first"
    : !picked.length ? "pick at least one voice" : "";
  const label = $("#selection-label");
  label.textContent = !state.selection ? "none selected"
    : state.selection[0] === state.selection[1] ? `${state.selection[0]}` : `${state.selection[0]}–${state.selection[1]}`;
  $("#clear-selection").hidden = !state.selection;
}

// ------------------------------------------------------------------ the piano roll
const ROLL = { left: 40, right: 12, ruler: 22, fermata: 16, bottom: 8 };
let geometry = null; // how the current roll maps steps and pitches to pixels

function drawRoll() {
  const host = $("#roll");
  const version = current();
  if (!version) return;
  const { grid, steps, steps_per_bar: perBar, bars, fermatas } = version.piece;
  const sung = grid.flat().filter((p) => p > 0);
  const low = (sung.length ? Math.min(...sung) : 55) - 2;
  const high = (sung.length ? Math.max(...sung) : 79) + 2;
  const rows = high - low + 1;
  const width = Math.max(480, host.clientWidth || 900);
  const rowHeight = Math.max(6, Math.min(11, 380 / rows));
  const top = ROLL.ruler + ROLL.fermata;
  const height = Math.round(top + rows * rowHeight + ROLL.bottom);
  const stepWidth = (width - ROLL.left - ROLL.right) / steps;
  const x = (step) => ROLL.left + step * stepWidth;
  const y = (pitch) => top + (high - pitch) * rowHeight;
  geometry = { x, stepWidth, steps, perBar, bars, top, height, width };

  const parts = [`<rect class="bg" x="0" y="0" width="${width}" height="${height}"/>`];
  parts.push(`<rect class="ruler" x="0" y="0" width="${width}" height="${ROLL.ruler}"/>`);
  for (let p = low; p <= high; p++) {
    if ([1, 3, 6, 8, 10].includes(p % 12)) {
      parts.push(`<rect class="black-key" x="${ROLL.left}" y="${y(p)}" width="${width - ROLL.left - ROLL.right}" height="${rowHeight}"/>`);
    }
    if (p % 12 === 0) {
      parts.push(`<line class="c-line" x1="${ROLL.left}" x2="${width - ROLL.right}" y1="${y(p) + rowHeight}" y2="${y(p) + rowHeight}"/>`);
      parts.push(`<text class="pitch-label" x="${ROLL.left - 6}" y="${y(p) + rowHeight / 2 + 3.5}" text-anchor="end">C${p / 12 - 1}</text>`);
    }
  }
  for (let s = 0; s <= steps; s += perBar / 4) {
    const bar = s % perBar === 0;
    parts.push(`<line class="${bar ? "barline" : "beat"}" x1="${x(s)}" x2="${x(s)}" y1="${bar ? 0 : top}" y2="${height - ROLL.bottom}"/>`);
  }
  if (state.selection) {
    const [first, last] = state.selection;
    const s0 = (first - 1) * perBar, s1 = Math.min(steps, last * perBar);
    parts.push(`<rect class="selection-band" x="${x(s0)}" y="0.5" width="${x(s1) - x(s0)}" height="${height - ROLL.bottom}"/>`);
  }
  for (let b = 1; b <= bars; b++) {
    const s0 = (b - 1) * perBar, s1 = Math.min(steps, b * perBar);
    const selected = state.selection && b >= state.selection[0] && b <= state.selection[1];
    parts.push(`<rect class="bar-cell" data-bar="${b}" x="${x(s0)}" y="0" width="${x(s1) - x(s0)}" height="${ROLL.ruler}"/>`);
    if (stepWidth * perBar >= 14 || b % 2 === 1) {
      parts.push(`<text class="bar-number${selected ? " selected" : ""}" x="${x(s0) + 5}" y="${ROLL.ruler - 7}">${b}</text>`);
    }
  }
  const picked = pickedVoices();
  const [selFirst, selLast] = state.selection ? [(state.selection[0] - 1) * perBar, state.selection[1] * perBar] : [0, 0];
  VOICES.forEach((voice, v) => {
    for (const [start, stop, pitch] of runs(grid, v)) {
      if (!pitch) continue;
      // inside the selection, the voices that Regenerate keeps are faded
      const kept = state.selection && !picked.includes(voice) && start < selLast && stop > selFirst;
      let changed = false;
      if (version.changed) for (let s = start; s < stop && !changed; s++) changed = version.changed.has(`${s},${v}`);
      const bar = Math.floor(start / perBar) + 1, beat = Math.floor((start % perBar) / (perBar / 4)) + 1;
      parts.push(`<rect class="note note-${voice}${changed ? " changed" : ""}${kept ? " kept" : ""}" x="${x(start) + 0.5}" y="${y(pitch) + 0.5}" `
        + `width="${Math.max(1, (stop - start) * stepWidth - 1)}" height="${rowHeight - 1}" rx="2" fill="${COLOURS[voice]}">`
        + `<title>${voice} ${noteName(pitch)}, bar ${bar} beat ${beat}</title></rect>`);
    }
  });
  for (const step of fermatas || []) {
    const run = runs(grid, 0).find(([a, b]) => step >= a && step < b);
    const cx = run ? x((run[0] + run[1]) / 2) : x(step + 0.5);
    const cy = ROLL.ruler + ROLL.fermata - 3;
    parts.push(`<g class="fermata-mark" data-step="${step}"><path class="fermata" d="M ${cx - 6.5} ${cy} A 6.5 5.5 0 0 1 ${cx + 6.5} ${cy}"/>`
      + `<circle class="fermata-dot" cx="${cx}" cy="${cy - 1.6}" r="1.5"/><title>fermata, bar ${Math.floor(step / perBar) + 1}</title></g>`);
  }
  parts.push(`<line class="cursor" id="cursor" x1="0" x2="0" y1="0" y2="${height - ROLL.bottom}" visibility="hidden"/>`);
  host.innerHTML = `<svg xmlns="${SVG_NS}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" `
    + `role="img" aria-label="piano roll of ${escape(version.piece.title)}">${parts.join("")}</svg>`;
}

function runs(grid, voice) { // [start, stop, pitch] of each held pitch (or rest) of one voice
  const found = [];
  let start = 0;
  for (let s = 1; s <= grid.length; s++) {
    if (s === grid.length || grid[s][voice] !== grid[start][voice]) {
      found.push([start, s, grid[start][voice]]);
      start = s;
    }
  }
  return found;
}

function barAt(clientX) {
  const svg = $("#roll svg");
  if (!svg || !geometry) return null;
  const box = svg.getBoundingClientRect();
  const px = (clientX - box.left) * (geometry.width / box.width);
  const step = (px - ROLL.left) / geometry.stepWidth;
  return Math.max(1, Math.min(geometry.bars, Math.floor(step / geometry.perBar) + 1));
}

function setupSelection() {
  const host = $("#roll");
  let anchor = null;
  host.addEventListener("pointerdown", (event) => {
    if (!current() || event.button !== 0) return;
    const bar = barAt(event.clientX);
    if (bar === null) return;
    anchor = event.shiftKey && state.selection ? state.selection[0] : bar;
    state.selection = [Math.min(anchor, bar), Math.max(anchor, bar)];
    host.setPointerCapture(event.pointerId);
    drawRoll();
    updateButtons();
  });
  host.addEventListener("pointermove", (event) => {
    if (anchor === null) return;
    const bar = barAt(event.clientX);
    const next = [Math.min(anchor, bar), Math.max(anchor, bar)];
    if (!state.selection || next[0] !== state.selection[0] || next[1] !== state.selection[1]) {
      state.selection = next;
      drawRoll();
      updateButtons();
    }
  });
  const end = () => { anchor = null; };
  host.addEventListener("pointerup", end);
  host.addEventListener("pointercancel", end);
}

// ------------------------------------------------------------------ hearing
const audio = () => $("#audio");
let frame = null;

const AUDIO_KEPT = 6; // versions whose WAV stays in memory (a 16-bar WAV from FluidSynth is about 10 MB)
const audioKept = [];

function loadAudio(version) {
  if (!version.audio) {
    version.audio = request("/api/audio", { json: { piece: pieceBody(version.piece) } }).then(async (response) => ({
      url: URL.createObjectURL(await response.blob()),
      synth: response.headers.get("X-Synthesizer") || "",
    }));
    version.audio.catch(() => { version.audio = null; });
    audioKept.push(version);
    while (audioKept.length > AUDIO_KEPT) { // fetched again if that version is shown again
      const old = audioKept.shift();
      const promise = old.audio;
      old.audio = null;
      if (promise) promise.then(({ url }) => URL.revokeObjectURL(url)).catch(() => {});
    }
  }
  version.audio.then(({ url, synth }) => {
    if (current() !== version) return;
    if (audio().src !== url) {
      audio().src = url;
      audio().load();
    }
    $("#synth-label").textContent = synth ? `sound: ${synth}` : "";
  }).catch((error) => { if (current() === version) showError(error.message); });
}

async function play() {
  const version = current();
  if (!version) return;
  try {
    loadAudio(version);
    const { url } = await version.audio;
    if (audio().src !== url) audio().src = url;
    audio().currentTime = 0;
    await audio().play();
  } catch (error) {
    showError(error.message || String(error));
    return;
  }
  $("#play-btn").classList.add("playing");
  $("#play-btn").setAttribute("aria-label", "Stop");
  const tick = () => {
    const piece = current() && current().piece;
    if (!piece || audio().paused) return stop();
    const step = audio().currentTime * piece.tempo / 60 * (piece.steps_per_bar / 4);
    const cursor = $("#cursor");
    if (cursor && geometry) {
      const cx = geometry.x(Math.min(step, geometry.steps));
      cursor.setAttribute("x1", cx);
      cursor.setAttribute("x2", cx);
      cursor.setAttribute("visibility", step <= geometry.steps ? "visible" : "hidden");
    }
    $("#clock-now").textContent = clock(Math.min(audio().currentTime, duration(piece)));
    if (step > geometry.steps + 4) return stop(); // the synthesizer's tail: done
    frame = requestAnimationFrame(tick);
  };
  frame = requestAnimationFrame(tick);
}

function stop() {
  if (frame) cancelAnimationFrame(frame);
  frame = null;
  const player = audio();
  if (!player.paused) player.pause();
  if (player.src) player.currentTime = 0;
  $("#play-btn").classList.remove("playing");
  $("#play-btn").setAttribute("aria-label", "Play");
  const cursor = $("#cursor");
  if (cursor) cursor.setAttribute("visibility", "hidden");
  $("#clock-now").textContent = clock(0);
}

const duration = (piece) => piece.steps / (piece.steps_per_bar / 4) * 60 / piece.tempo;
function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// ------------------------------------------------------------------ seeing: sheet music
function setView(view) {
  state.view = view;
  document.querySelectorAll(".tab").forEach((tab) => {
    tab.classList.toggle("active", tab.dataset.view === view);
    tab.setAttribute("aria-selected", String(tab.dataset.view === view));
  });
  $("#roll-view").hidden = view !== "roll";
  $("#sheet-view").hidden = view !== "sheet";
  if (view === "roll") drawRoll();
  if (view === "sheet" && current()) loadSheet(current());
}

function loadSheet(version) {
  const host = $("#sheet");
  if (!state.info || !state.info.features.sheet) {
    host.innerHTML = `<div class="empty">Sheet music needs MuseScore: apt-get install musescore3</div>`;
    return;
  }
  if (!version.sheet) {
    host.innerHTML = `<div class="empty">Engraving with MuseScore…</div>`;
    version.sheet = request("/api/sheet", { json: { piece: pieceBody(version.piece) } })
      .then(async (response) => URL.createObjectURL(await response.blob()));
    version.sheet.catch(() => { version.sheet = null; });
  }
  version.sheet.then((url) => {
    if (current() === version && state.view === "sheet") {
      host.innerHTML = `<img alt="sheet music of ${escape(version.piece.title)}" src="${url}">`;
    }
  }).catch((error) => {
    if (current() === version) {
      host.innerHTML = `<div class="empty">No sheet music.</div>`;
      showError(error.message);
    }
  });
}

// ------------------------------------------------------------------ actions
async function generate(event) {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const primer = data.get("primer");
  if (primer === "test") data.set("primer", `test:${data.get("primer_index") || 0}`);
  data.delete("primer_index");
  if (primer !== "upload") data.delete("file");
  if (!data.get("key")) data.delete("key");
  if (!String(data.get("fermatas") || "").trim()) data.delete("fermatas");
  await busy($("#generate-btn"), "Generating…", async () => {
    const piece = await (await request("/api/generate", { form: data })).json();
    addVersion(piece, `generated${piece.details.seed !== undefined ? ` with seed ${piece.details.seed}` : ""}`);
  });
}

async function harmonize(event) {
  event.preventDefault();
  const data = new FormData(event.target);
  await busy($("#harmonize-btn"), "Harmonizing…", async () => {
    const piece = await (await request("/api/harmonize", { form: data })).json();
    addVersion(piece, `harmonized for the ${data.get("voice")}`);
  });
}

async function regenerate() {
  const version = current();
  if (!version || !state.selection) return;
  const voices = pickedVoices();
  const [first, last] = state.selection;
  await busy($("#regenerate-btn"), "Regenerating…", async () => {
    const body = { piece: pieceBody(version.piece), bars: [first, last], voices,
      temperature: Number($("#temperature").value) };
    const piece = await (await request("/api/regenerate", { json: body })).json();
    const which = voices.length === VOICES.length ? "all voices" : voices.join(", ");
    addVersion(piece, `bar${first === last ? ` ${first}` : `s ${first}–${last}`} rewritten (${which})`, { keepSelection: true });
  });
}

async function download(format) {
  const version = current();
  if (!version) return;
  try {
    clearError();
    const response = await request(`/api/export/${format}`, { json: { piece: pieceBody(version.piece) } });
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || `chorale.${format}`;
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    showError(error.message || String(error));
  }
}

const pickedVoices = () => VOICES.filter((v) => $(`#voice-${v}`) && $(`#voice-${v}`).checked);

// ------------------------------------------------------------------ setting up
function noteName(pitch) { return `${NOTE_NAMES[pitch % 12]}${Math.floor(pitch / 12) - 1}`; }
function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function buildControls() {
  const keys = $("#key-select");
  for (const mode of ["major", "minor"]) {
    const group = document.createElement("optgroup");
    group.label = mode;
    (mode === "major" ? MAJOR : MINOR).forEach((tonic) => {
      const option = document.createElement("option");
      option.value = option.textContent = `${tonic} ${mode}`;
      group.appendChild(option);
    });
    keys.appendChild(group);
  }
  const picks = $("#voice-picks");
  const legend = $("#legend");
  VOICES.forEach((voice) => {
    picks.insertAdjacentHTML("beforeend", `<label><input type="checkbox" id="voice-${voice}" value="${voice}" checked>`
      + `<span class="swatch" style="background:${COLOURS[voice]}"></span>${voice}</label>`);
    legend.insertAdjacentHTML("beforeend", `<span><span class="swatch" style="background:${COLOURS[voice]}"></span>${voice}</span>`);
  });
  legend.insertAdjacentHTML("beforeend", `<span class="fermata-key" hidden><svg width="16" height="10" viewBox="0 0 16 10">`
    + `<path d="M 2 9 A 6 6 0 0 1 14 9" fill="none" stroke="#2a2723" stroke-width="1.4"/><circle cx="8" cy="7.4" r="1.5" fill="#2a2723"/></svg>fermata</span>`
    + `<span class="legend-hint">drag across the bar numbers to select bars</span>`);
  picks.addEventListener("change", () => { drawRoll(); updateButtons(); });

  const temperature = $("#temperature");
  temperature.addEventListener("input", () => { $("#temperature-out").textContent = Number(temperature.value).toFixed(2); });
  $("#primer-select").addEventListener("change", (event) => {
    $("#primer-test").hidden = event.target.value !== "test";
    $("#primer-upload").hidden = event.target.value !== "upload";
  });
  $("#generate-form").addEventListener("submit", generate);
  $("#harmonize-form").addEventListener("submit", harmonize);
  $("#regenerate-btn").addEventListener("click", regenerate);
  $("#undo-btn").addEventListener("click", () => go(-1));
  $("#redo-btn").addEventListener("click", () => go(1));
  $("#version-list").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-index]");
    if (button) go(Number(button.dataset.index) - state.index);
  });
  $("#clear-selection").addEventListener("click", () => { state.selection = null; drawRoll(); updateButtons(); });
  $("#play-btn").addEventListener("click", () => (frame || !audio().paused ? stop() : play()));
  audio().addEventListener("ended", stop);
  document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => setView(tab.dataset.view)));
  document.querySelectorAll(".downloads button").forEach((b) => b.addEventListener("click", () => download(b.dataset.format)));
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z" && !typing) {
      event.preventDefault();
      go(event.shiftKey ? 1 : -1);
    } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "y" && !typing) {
      event.preventDefault();
      go(1);
    } else if (event.key === " " && !typing && document.activeElement.tagName !== "BUTTON" && current()) {
      event.preventDefault();
      frame || !audio().paused ? stop() : play();
    } else if (event.key === "Escape" && state.selection) {
      state.selection = null;
      drawRoll();
      updateButtons();
    }
  });
  new ResizeObserver(() => { if (state.view === "roll") drawRoll(); }).observe($("#roll"));
  setupSelection();
}

async function start() {
  buildControls();
  updateButtons();
  try {
    state.info = await (await request("/api/info", { method: "GET" })).json();
  } catch (error) {
    $("#model-info").textContent = "";
    showError(error.message);
    return;
  }
  const { model, features, limits } = state.info;
  const parameters = model.parameters ? `, ${Number(model.parameters).toLocaleString("en")} parameters` : "";
  $("#model-info").textContent = `model: ${model.architecture || "?"}${parameters} · chorale ${state.info.version}`;
  $("#model-info").title = model.name;
  document.querySelector("#generate-form [name=bars]").max = limits.bars;
  const temperature = state.info.defaults && state.info.defaults.temperature;
  if (temperature !== undefined) { // the API's default (chorale.defaults), not one of the page's own
    $("#temperature").value = temperature;
    $("#temperature-out").textContent = Number(temperature).toFixed(2);
  }
  if (!features.plan) { // a model trained without a plan writes in the key its opening suggests
    for (const field of [$("#key-select"), $("#fermatas-input")]) {
      field.disabled = true;
      field.title = "this model was trained without a plan: it cannot follow a key or fermatas";
    }
  }
  if (!features.regenerate) {
    $("#regenerate .hint").textContent = "This version of chorale cannot regenerate bars yet (it needs model.regenerate).";
  }
  if (!features.sheet) $("#sheet-tab").title = "needs MuseScore (apt-get install musescore3)";
  updateButtons();
  document.body.dataset.ready = "true";
}

start();
