// What a finished transcription offers: downloads (built here from the segments, in the same
// layout as the server's own writers) and the panel on what speculative decoding did.

function stamp(seconds, decimal, alwaysHours) {
  let millis = Math.max(0, Math.round(seconds * 1000));
  const hours = Math.floor(millis / 3600000);
  millis -= hours * 3600000;
  const minutes = Math.floor(millis / 60000);
  millis -= minutes * 60000;
  const secs = Math.floor(millis / 1000);
  millis -= secs * 1000;
  const two = (n) => String(n).padStart(2, "0");
  const head = alwaysHours || hours ? `${two(hours)}:` : "";
  return `${head}${two(minutes)}:${two(secs)}${decimal}${String(millis).padStart(3, "0")}`;
}

// A cue's text never holds "-->", which would end its timing line.
const cue = (segment) => segment.text.trim().replaceAll("-->", "->");

const FORMATS = {
  txt: (segments) => ({ text: segments.map((s) => `${cue(s)}\n`).join(""), type: "text/plain" }),
  srt: (segments) => ({
    text: segments
      .map((s, i) => `${i + 1}\n${stamp(s.start, ",", true)} --> ${stamp(s.end, ",", true)}\n${cue(s)}\n`)
      .join("\n"),
    type: "application/x-subrip",
  }),
  vtt: (segments) => ({
    text: ["WEBVTT\n", ...segments.map((s) => `${stamp(s.start, ".", false)} --> ${stamp(s.end, ".", false)}\n${cue(s)}\n`)].join("\n"),
    type: "text/vtt",
  }),
  json: (segments, done) => {
    const { type: _kind, ...record } = done;
    return { text: `${JSON.stringify({ ...record, segments }, null, 2)}\n`, type: "application/json" };
  },
};

export function render(format, segments, done) {
  return FORMATS[format](segments, done);
}

// ---------- the speculative decoding panel ----------

const $ = (id) => document.getElementById(id);
// Where the engine's time went (the done line's stats), in the bar's order and colours.
const PARTS = [
  ["main_encoder_s", "main encoder", "#1d4ed8"],
  ["draft_encoder_s", "draft encoder", "#7c3aed"],
  ["drafting_s", "drafting", "#0f766e"],
  ["verifying_s", "verifying (main decoder)", "#b45309"],
  ["word_timing_s", "word timestamps", "#be185d"],
  ["other", "audio and the rest", "#9aa5b1"],
];

export function resetPanel() {
  $("stats").hidden = true;
  $("stats").replaceChildren();
  $("split").hidden = true;
  $("speedup").hidden = true;
  $("stats-empty").hidden = false;
}

function entry(list, label, value) {
  const item = document.createElement("div");
  const term = document.createElement("dt");
  term.textContent = label;
  const detail = document.createElement("dd");
  detail.textContent = value;
  item.append(term, detail);
  list.append(item);
}

export function showPanel(done) {
  const stats = done.stats;
  const list = $("stats");
  list.replaceChildren();
  entry(list, "Draft", done.draft || "none (plain decoding)");
  if (done.draft) {
    entry(list, "Draft tokens accepted", `${(100 * stats.acceptance_rate).toFixed(0)} %`);
    entry(list, "Tokens per main-model pass", stats.tokens_per_verify.toFixed(2));
  }
  entry(list, "Tokens generated", String(stats.tokens_generated));
  entry(list, "Main-model decoder passes", String(stats.main_forward_calls));
  entry(list, "30 s windows", String(stats.windows));
  entry(list, "Time", `${done.seconds.toFixed(2)} s`);
  entry(list, "Speed", `${(done.duration / Math.max(done.seconds, 1e-3)).toFixed(1)}\u00d7 real time`);
  list.hidden = false;
  $("stats-empty").hidden = true;

  const known = PARTS.slice(0, -1).reduce((sum, [key]) => sum + (stats[key] || 0), 0);
  const values = { ...stats, other: Math.max(0, done.seconds - known) };
  const total = PARTS.reduce((sum, [key]) => sum + (values[key] || 0), 0) || 1;
  const bar = $("split-bar");
  const legend = $("split-legend");
  bar.replaceChildren();
  legend.replaceChildren();
  for (const [key, label, colour] of PARTS) {
    const seconds = values[key] || 0;
    if (seconds <= 0) continue;
    const piece = document.createElement("span");
    piece.style.width = `${(100 * seconds) / total}%`;
    piece.style.background = colour;
    bar.append(piece);
    const item = document.createElement("li");
    const swatch = document.createElement("i");
    swatch.style.background = colour;
    item.append(swatch, `${label}: ${seconds.toFixed(2)} s (${((100 * seconds) / total).toFixed(0)} %)`);
    legend.append(item);
  }
  $("split").hidden = false;
}

// The same file decoded without a draft: the speedup, and whether the text is the same
// (it should be: speculative decoding is lossless).
export function showComparison(done, plain) {
  const box = $("speedup");
  box.replaceChildren();
  const speedup = plain.seconds / Math.max(done.seconds, 1e-3);
  const strong = document.createElement("strong");
  strong.textContent = `${speedup.toFixed(2)}\u00d7`;
  const same = plain.text === done.text ? "the same text" : "a different text (please report this)";
  box.append(
    "Speedup against decoding without a draft: ",
    strong,
    ` (${plain.seconds.toFixed(2)} s without a draft, ${done.seconds.toFixed(2)} s with ${done.draft || "no draft"}); ${same}.`,
    " One run each: timings vary from run to run, and a server's first request pays one-time costs."
  );
  box.hidden = false;
}
