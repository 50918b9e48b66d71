// specwhisper's web page: choose or record audio, stream the transcription from
// POST /transcribe/stream (NDJSON: queued, info, segment..., done | error), highlight each word
// as the audio plays, show what speculative decoding did, download txt/srt/vtt/json.
// Plain JavaScript modules, no build step and nothing fetched from elsewhere: it works offline.
import { render, resetPanel, showComparison, showPanel } from "./results.js";
import * as Transcript from "./transcript.js";

const $ = (id) => document.getElementById(id);
const state = {
  file: null, // the File (or recording) to transcribe
  audioUrl: null,
  segments: [], // the segment lines received
  info: null, // the stream's info line
  done: null, // its done line
  controller: null, // aborts the running request
  recorder: null,
};

// ---------- talking to the server ----------

function authHeaders() {
  const key = $("api-key").value.trim();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

// The server's errors are {"error": {"message", "type", "param", "code"}}; anything else
// (a proxy's HTML page, say) is shown by its status alone.
async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    /* not JSON */
  }
  const error = (body && body.error) || {};
  if (response.status === 401) {
    const problem = new Error(
      "This server needs an API key. Enter it in the \u201cAPI key\u201d field and try again." +
        (error.message ? ` (${error.message})` : "")
    );
    problem.needsKey = true;
    return problem;
  }
  const where = error.param ? ` (field \u201c${error.param}\u201d)` : "";
  const message = error.message || response.statusText || "the server gave no reason";
  return new Error(`${message}${where}. [HTTP ${response.status}${error.code ? `, ${error.code}` : ""}]`);
}

function showError(error) {
  const box = $("error");
  box.replaceChildren();
  const title = document.createElement("strong");
  title.textContent = error.needsKey ? "API key needed" : "Something went wrong";
  const text = document.createElement("span");
  text.textContent = error.message;
  box.append(title, text);
  box.hidden = false;
  if (error.needsKey) $("api-key").focus();
}

function clearError() {
  $("error").hidden = true;
  $("error").replaceChildren();
}

function setStatus(text) {
  $("status").textContent = text;
}

async function loadModels() {
  let body;
  try {
    const response = await fetch("/models", { headers: authHeaders() });
    if (!response.ok) throw await errorFrom(response);
    body = await response.json();
  } catch (error) {
    showError(error);
    return;
  }
  clearError();
  const ready = body.models.filter((m) => m.offline && m.source !== "alias");
  const remote = body.models.filter((m) => !m.offline && m.source !== "alias");
  const model = $("model");
  model.replaceChildren();
  addGroup(model, "Ready on this server", ready.map((m) => [m.name, m.name]));
  addGroup(model, "Need a network or a local copy", remote.map((m) => [m.name, m.name]));
  model.value = body.default.model;
  const draft = $("draft");
  draft.replaceChildren();
  const keywords = body.drafts.filter((d) => !d.startsWith("<"));
  const names = ready.filter((m) => m.source !== "preset").map((m) => m.name);
  addGroup(draft, "Kinds", keywords.map((d) => [d, d === "auto" ? "auto (fastest lossless)" : d]));
  addGroup(draft, "Draft models", names.map((n) => [n, n]));
  draft.value = body.default.draft;
}

function addGroup(select, label, entries) {
  if (!entries.length) return;
  const group = document.createElement("optgroup");
  group.label = label;
  for (const [value, text] of entries) group.append(new Option(text, value));
  select.append(group);
}

function formFor(useSpeculative) {
  const form = new FormData();
  form.append("file", state.file, state.file.name);
  for (const id of ["model", "draft", "language", "task", "compute_type"]) {
    const value = $(id).value.trim();
    if (value) form.append(id, value);
  }
  form.append("word_timestamps", $("words").checked ? "true" : "false");
  form.append("use_speculative", useSpeculative ? "true" : "false");
  return form;
}

// POST /transcribe/stream and hand every NDJSON line to onLine; resolves with the done line.
async function stream(form, onLine, signal) {
  const response = await fetch("/transcribe/stream", {
    method: "POST", body: form, headers: authHeaders(), signal,
  });
  if (!response.ok) throw await errorFrom(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let done = null;
  for (;;) {
    const { value, done: finished } = await reader.read();
    if (value) buffer += value;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (!line) continue;
      const item = JSON.parse(line);
      if (item.type === "error") {
        const error = item.error.error || item.error; // {"error": {...}} or the body itself
        throw new Error(`${error.message} [${error.code || "error"}]`);
      }
      if (item.type === "done") done = item;
      onLine(item);
    }
    if (finished) break;
  }
  if (!done) throw new Error("The connection closed before the transcription finished.");
  return done;
}

// ---------- choosing and recording audio ----------

function setFile(file) {
  state.file = file;
  $("chosen").textContent = `Chosen: ${file.name} (${(file.size / 1024).toFixed(0)} KB)`;
  $("go").disabled = false;
  if (state.audioUrl) URL.revokeObjectURL(state.audioUrl);
  state.audioUrl = URL.createObjectURL(file);
  $("player").src = state.audioUrl;
  $("player").hidden = false;
}

function setUpDropzone() {
  const zone = $("dropzone");
  for (const kind of ["dragenter", "dragover"]) {
    zone.addEventListener(kind, (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) setFile(file);
  });
  $("file").addEventListener("change", () => {
    if ($("file").files[0]) setFile($("file").files[0]);
  });
}

async function toggleRecording() {
  const button = $("record");
  if (state.recorder) {
    state.recorder.stop();
    return;
  }
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    showError(new Error("Recording needs a browser with MediaRecorder on a secure page (https, or this server on localhost)."));
    return;
  }
  let media;
  try {
    media = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    showError(new Error(`The microphone is not available: ${error.message}`));
    return;
  }
  clearError();
  const recorder = new MediaRecorder(media);
  const chunks = [];
  const began = Date.now();
  const clock = setInterval(() => {
    $("record-time").textContent = `${((Date.now() - began) / 1000).toFixed(0)} s`;
  }, 500);
  recorder.ondataavailable = (event) => chunks.push(event.data);
  recorder.onstop = () => {
    clearInterval(clock);
    media.getTracks().forEach((track) => track.stop());
    state.recorder = null;
    button.textContent = "Record from the microphone";
    button.setAttribute("aria-pressed", "false");
    const type = recorder.mimeType || "audio/webm";
    const extension = type.includes("ogg") ? "ogg" : type.includes("mp4") ? "m4a" : "webm";
    setFile(new File(chunks, `recording.${extension}`, { type }));
    setStatus("Recording ready: press Transcribe.");
  };
  recorder.start();
  state.recorder = recorder;
  button.textContent = "Stop recording";
  button.setAttribute("aria-pressed", "true");
  setStatus("Recording\u2026 press Stop recording when done.");
}

// ---------- one transcription (and its comparison run) ----------

async function transcribe(event) {
  event.preventDefault();
  if (!state.file || state.controller) return;
  clearError();
  resetTranscript();
  resetPanel();
  const controller = new AbortController();
  state.controller = controller;
  $("go").disabled = true;
  $("cancel").hidden = false;
  const progress = $("progress");
  progress.value = 0;
  progress.hidden = false;
  setStatus("Uploading\u2026");
  try {
    const done = await stream(formFor(true), (line) => onLine(line), controller.signal);
    state.done = done;
    progress.value = 1;
    for (const button of document.querySelectorAll(".downloads button")) button.disabled = false;
    const count = state.segments.length;
    setStatus(`Done: ${count} segment${count === 1 ? "" : "s"} in ${done.seconds.toFixed(2)} s.`);
    showPanel(done);
    if ($("compare").checked) {
      setStatus(`Done in ${done.seconds.toFixed(2)} s. Transcribing again without a draft to compare\u2026`);
      const plain = await stream(formFor(false), () => {}, controller.signal);
      showComparison(done, plain);
      const draft = done.draft ? `with draft ${done.draft}` : "as asked";
      setStatus(`Done: ${done.seconds.toFixed(2)} s ${draft}, ${plain.seconds.toFixed(2)} s without a draft.`);
    }
  } catch (error) {
    if (error.name === "AbortError") {
      setStatus("Cancelled.");
    } else {
      setStatus("The transcription failed.");
      showError(error);
    }
  } finally {
    state.controller = null;
    $("go").disabled = !state.file;
    $("cancel").hidden = true;
    progress.hidden = true;
  }
}

function onLine(line) {
  if (line.type === "queued") {
    setStatus(line.queue_s > 0.5 ? `Waited ${line.queue_s.toFixed(1)} s for a free worker; transcribing\u2026` : "Transcribing\u2026");
  } else if (line.type === "info") {
    state.info = line;
    const detected = $("language").value.trim()
      ? "" : ` (detected, ${(100 * line.language_probability).toFixed(0)} %)`;
    $("meta").textContent = `${line.duration.toFixed(1)} s of audio \u00b7 language ${line.language}${detected} \u00b7 model ${line.model} \u00b7 draft ${line.draft || "none"}`;
    Transcript.clear();
  } else if (line.type === "segment") {
    state.segments.push(line);
    Transcript.addSegment(line);
    // One column (phones): the transcript is below the form; bring it into view once.
    if (state.segments.length === 1 && !window.matchMedia("(min-width: 60rem)").matches) {
      $("transcript-section").scrollIntoView({ block: "start" });
    }
    if (state.info && state.info.duration > 0) {
      $("progress").value = Math.min(1, line.end / state.info.duration);
    }
    const total = Transcript.clock(state.info ? state.info.duration : 0);
    setStatus(`Transcribing\u2026 ${Transcript.clock(line.end)} of ${total}`);
  }
}

function cancel() {
  if (state.controller) state.controller.abort();
}

function download(format) {
  if (!state.done) return;
  const { text, type } = render(format, state.segments, state.done);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  const stem = (state.file && state.file.name.replace(/\.[^.]+$/, "")) || "transcript";
  link.download = `${stem}.${format}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

function resetTranscript() {
  state.segments = [];
  state.done = null;
  Transcript.clear();
  $("meta").textContent = "";
  for (const button of document.querySelectorAll(".downloads button")) button.disabled = true;
}

// Modules run after the document is parsed: no need to wait for DOMContentLoaded.
function start() {
  Transcript.setUp($("transcript"), $("player"));
  setUpDropzone();
  $("job").addEventListener("submit", transcribe);
  $("cancel").addEventListener("click", cancel);
  $("record").addEventListener("click", toggleRecording);
  $("api-key").addEventListener("change", loadModels);
  for (const button of document.querySelectorAll(".downloads button")) {
    button.addEventListener("click", () => download(button.dataset.format));
  }
  loadModels();
}

start();
