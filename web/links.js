// Links to elsewhere: only an absolute http(s) URL becomes one. The same rule as
// assistant/links.py (web_link): a `javascript:` or `data:` source in the archive's front
// matter must never be something to click.
"use strict";

function webLink(url) {
  const text = typeof url === "string" ? url.trim() : "";
  if (!text || /[\u0000-\u0020\u007f-\u009f\s]/.test(text)) return "";
  let parsed;
  try {
    parsed = new URL(text);
  } catch (_) {
    return "";
  }
  return (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname ? text : "";
}

// Point `anchor` at `url` if it may be a link; otherwise hide it and take its href away.
function setLink(anchor, url) {
  const link = webLink(url);
  if (link) anchor.href = link;
  else anchor.removeAttribute("href");
  anchor.hidden = !link;
}
