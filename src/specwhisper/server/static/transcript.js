// The transcript on the page: segments as they arrive, each word a <span> with its times, and
// the word being spoken highlighted while the audio plays.

const words = []; // every word of the transcript, in order: {start, end, el, row}
let current = null; // the highlighted word
let container = null;
let player = null;

export function clock(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${(seconds - minutes * 60).toFixed(1).padStart(4, "0")}`;
}

export function setUp(transcriptElement, playerElement) {
  container = transcriptElement;
  player = playerElement;
  const follow = () => highlight(player.currentTime);
  player.addEventListener("timeupdate", follow);
  player.addEventListener("seeked", follow);
  // timeupdate comes about four times a second: too coarse for short words while playing.
  player.addEventListener("play", () => {
    const tick = () => {
      follow();
      if (!player.paused && !player.ended) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

export function clear() {
  words.length = 0;
  current = null;
  container.replaceChildren();
}

export function addSegment(segment) {
  const row = document.createElement("div");
  row.className = "segment";
  const time = document.createElement("button");
  time.type = "button";
  time.className = "time secondary";
  time.textContent = clock(segment.start);
  time.setAttribute("aria-label", `Play from ${clock(segment.start)}`);
  time.addEventListener("click", () => playFrom(segment.start));
  const text = document.createElement("p");
  text.className = "text";
  if (segment.words && segment.words.length) {
    for (const word of segment.words) {
      const span = document.createElement("span");
      span.className = "word";
      span.textContent = word.word;
      span.dataset.start = word.start;
      span.dataset.end = word.end;
      text.append(span);
      words.push({ start: word.start, end: word.end, el: span, row });
    }
  } else {
    text.textContent = segment.text;
  }
  row.append(time, text);
  container.append(row);
}

function playFrom(seconds) {
  player.currentTime = seconds;
  player.play().catch(() => {}); // autoplay rules may refuse; the position is set anyway
}

// The word being spoken at `seconds`: the last one starting at or before it, while it lasts.
export function highlight(seconds) {
  let low = 0;
  let high = words.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (words[middle].start <= seconds) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  const word = found >= 0 && seconds < words[found].end ? words[found] : null;
  if (word === current) return;
  if (current) {
    current.el.classList.remove("current");
    current.row.classList.remove("current");
  }
  current = word;
  if (word) {
    word.el.classList.add("current");
    word.row.classList.add("current");
    keepInView(word.el);
  }
}

// A long transcript scrolls inside its box: follow the spoken word there, leaving the page
// where the reader put it.
function keepInView(element) {
  const top = element.offsetTop;
  const bottom = top + element.offsetHeight;
  if (top < container.scrollTop || bottom > container.scrollTop + container.clientHeight) {
    container.scrollTop = Math.max(0, top - container.clientHeight / 3);
  }
}
