// The web chat. Archive text and answers are only ever inserted as text nodes, never as
// HTML, so a transcript or a question containing markup shows as text and runs nothing.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { history: [], busy: false, lastFilters: null };

function apiHeaders(extra = {}) {
  const key = localStorage.getItem("assistant-api-key");
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function currentFilters() {
  const filters = {
    speaker: $("f-speaker").value || null,
    date_from: $("f-since").value || null,
    date_to: $("f-until").value || null,
  };
  return Object.values(filters).some(Boolean) ? filters : null;
}

async function loadSpeakers() {
  try {
    const response = await fetch("/api/speakers", { headers: apiHeaders() });
    if (!response.ok) return;
    for (const speaker of await response.json()) {
      const option = document.createElement("option");
      option.value = speaker;
      option.textContent = speaker;
      $("f-speaker").append(option);
    }
  } catch (_) { /* the filter stays at "Any speaker" */ }
}

function addMessage(role, text) {
  $("empty").hidden = true;
  const article = document.createElement("article");
  article.className = `message ${role}`;
  const body = document.createElement("div");
  body.className = "body";
  body.textContent = text;
  article.append(body);
  $("messages").append(article);
  article.scrollIntoView({ block: "end" });
  return article;
}

// Text with `[n]` markers → text nodes and citation chips.
function renderAnswer(body, text, citations) {
  const byNumber = new Map(citations.map((c) => [c.n, c]));
  body.replaceChildren();
  const parts = text.split(/(\[\d+\])/);
  for (const part of parts) {
    const marker = part.match(/^\[(\d+)\]$/);
    const citation = marker && byNumber.get(Number(marker[1]));
    if (citation) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.textContent = marker[1];
      chip.title = `${citation.title} · ${citation.date}`;
      chip.addEventListener("click", () => openCitation(citation));
      body.append(chip);
    } else if (part) {
      body.append(document.createTextNode(part));
    }
  }
}

function openCitation(c) {
  $("panel-title").textContent = c.title;
  const who = [c.speaker, c.date, c.turn_speaker && `🎙 ${c.turn_speaker}`, c.section && `§ ${c.section}`];
  $("panel-meta").textContent = who.filter(Boolean).join(" · ");
  $("panel-zh").textContent = c.text_zh || "—";
  $("panel-en").textContent = c.text_en || "—";
  $("panel-reader").href = c.url;
  setLink($("panel-source"), c.source_url);
  $("panel").hidden = false;
  $("panel-close").focus();
}

function addActions(article, getText) {
  const actions = document.createElement("div");
  actions.className = "actions";
  const copy = document.createElement("button");
  copy.type = "button";
  copy.className = "ghost small";
  copy.textContent = "Copy";
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(getText());
      copy.textContent = "Copied";
    } catch (_) {
      copy.textContent = "Copy failed";
    }
    setTimeout(() => { copy.textContent = "Copy"; }, 1500);
  });
  actions.append(copy);
  article.append(actions);
}

// Server-sent events from a fetch() body: yields {event, data} objects.
async function* readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

async function describeFailure(response) {
  if (response.status === 401) {
    const key = prompt("This server needs an API key:");
    if (key) localStorage.setItem("assistant-api-key", key.trim());
    return "The server asked for an API key. Ask again to use it.";
  }
  try {
    const body = await response.json();
    return `The server said: ${body.detail || response.statusText}`;
  } catch (_) {
    return `The server answered ${response.status} ${response.statusText}.`;
  }
}

async function ask(question) {
  if (state.busy) return;
  state.busy = true;
  $("send").disabled = true;
  showError("");
  const filters = currentFilters();
  addMessage("user", question);
  const article = addMessage("assistant", "Searching the archive… 正在检索…");
  article.classList.add("pending");
  const body = article.querySelector(".body");
  let text = "";
  let citations = [];
  let answer = null;
  try {
    const response = await fetch("/api/ask", {
      method: "POST",
      headers: apiHeaders({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify({ question, filters, history: state.history }),
    });
    if (!response.ok) throw new Error(await describeFailure(response));
    for await (const { event, data } of readEvents(response)) {
      if (event === "citations") {
        citations = data.citations;
      } else if (event === "token") {
        if (!text) body.textContent = "";
        text += data.text;
        renderAnswer(body, text, citations);
      } else if (event === "done") {
        answer = data;
        renderAnswer(body, answer.answer, answer.citations);
      } else if (event === "error") {
        throw new Error(data.message);
      }
      article.scrollIntoView({ block: "end" });
    }
    if (!answer) throw new Error("The answer was cut off. Please ask again.");
    article.classList.toggle("abstained", answer.citations.length === 0);
    if (answer.mode === "llm" && !answer.grounded) article.classList.add("ungrounded");
    addActions(article, () => answer.answer);
    state.history.push({ role: "user", content: question, filters });
    state.history.push({ role: "assistant", content: answer.answer });
  } catch (error) {
    article.remove();
    showError(error instanceof TypeError ? "Could not reach the server." : error.message);
  } finally {
    article.classList.remove("pending");
    state.busy = false;
    $("send").disabled = false;
  }
}

function startOver() {
  state.history = [];
  for (const message of document.querySelectorAll(".message")) message.remove();
  $("empty").hidden = false;
  $("panel").hidden = true;
  showError("");
  $("question").focus();
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  $("question").value = "";
  ask(question);
});
$("question").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
for (const example of document.querySelectorAll(".example")) {
  example.addEventListener("click", () => ask(example.textContent));
}
$("new-chat").addEventListener("click", startOver);
$("panel-close").addEventListener("click", () => { $("panel").hidden = true; });
$("f-clear").addEventListener("click", () => {
  $("f-speaker").value = "";
  $("f-since").value = "";
  $("f-until").value = "";
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") $("panel").hidden = true;
});
loadSpeakers();
