// The episode reader: the whole episode, bilingual, each paragraph addressable as #p<n>.
// Text is inserted as text nodes only.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function highlight() {
  for (const old of document.querySelectorAll(".para.highlight")) old.classList.remove("highlight");
  const target = location.hash && document.getElementById(location.hash.slice(1));
  if (target) {
    target.classList.add("highlight");
    target.scrollIntoView({ block: "center" });
  }
}

// The id is everything after /episodes/, percent-encoded: it may itself hold '/' or '%'.
function episodeIdOf(path) {
  const encoded = path.slice("/episodes/".length);
  try {
    return decodeURIComponent(encoded);
  } catch (_) {
    return encoded; // typed by hand with a bare '%'
  }
}

async function load() {
  const episodeId = episodeIdOf(location.pathname);
  const key = localStorage.getItem("assistant-api-key");
  const response = await fetch(`/api/episodes/${encodeURIComponent(episodeId)}`, {
    headers: key ? { Authorization: `Bearer ${key}` } : {},
  });
  if (!response.ok) {
    $("title").textContent = "Episode not found";
    $("error").textContent = response.status === 404
      ? `There is no episode "${episodeId}" in the archive.`
      : `The server answered ${response.status}.`;
    $("error").hidden = false;
    return;
  }
  const episode = await response.json();
  document.title = episode.title;
  $("title").textContent = episode.title;
  $("meta").textContent = [episode.speaker, episode.date, `${episode.segment_count} paragraphs`]
    .filter(Boolean).join(" · ");
  $("summary").textContent = episode.summary;
  setLink($("source"), episode.source_url);
  const list = $("segments");
  let section = null;
  for (const s of episode.segments) {
    if (s.section && s.section !== section) {
      section = s.section;
      list.append(el("h2", "section", section));
    }
    const para = el("article", "para");
    para.id = `p${s.position}`;
    const anchor = el("a", "anchor", `¶${s.position}`);
    anchor.href = `#p${s.position}`;
    para.append(anchor);
    if (s.turn_speaker) para.append(el("p", "turn", s.turn_speaker));
    const pair = el("div", "pair");
    const zh = el("p", "zh", s.text_zh || "—");
    zh.lang = "zh";
    const en = el("p", "en", s.text_en || "—");
    en.lang = "en";
    pair.append(zh, en);
    para.append(pair);
    list.append(para);
  }
  highlight();
}

window.addEventListener("hashchange", highlight);
load().catch(() => {
  $("error").textContent = "Could not reach the server.";
  $("error").hidden = false;
});
