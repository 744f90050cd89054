"""The LLM path: any OpenAI-compatible chat server through LangChain, prompts from files.

Never required: without `ASSISTANT_LLM_BASE_URL`/`ASSISTANT_LLM_MODEL` the assistant
answers extractively. A chat model is passed in, so tests can hand in LangChain's fakes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from assistant.language import Lang
from assistant.models import Passage
from assistant.resources import resource_dir
from assistant.settings import Settings

__all__ = ["format_sources", "generate", "load_prompt", "make_chat_model", "rewrite_question"]

# Long paragraphs are cut so that several sources fit a small model's context.
_SOURCE_CHARS = 1200


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    if not (settings.llm_base_url and settings.llm_model):
        return None
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key,
        temperature=settings.llm_temperature,
        max_completion_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,
        max_retries=1,
    )


@cache
def load_prompt(name: str) -> str:
    return (resource_dir("prompts") / f"{name}.md").read_text(encoding="utf-8")


def format_sources(passages: Sequence[Passage], lang: Lang) -> str:
    blocks = []
    for n, p in enumerate(passages, start=1):
        first, second = (p.text_zh, p.text_en) if lang == "zh" else (p.text_en, p.text_zh)
        text = first or second
        if len(text) > _SOURCE_CHARS:
            text = text[:_SOURCE_CHARS] + "…"
        who = f"{p.turn_speaker} in " if p.turn_speaker else ""
        blocks.append(f"[{n}] {who}“{p.title}” ({p.speaker}, {p.date})\n{text}")
    return "\n\n".join(blocks)


def _history_messages(history: Sequence[tuple[str, str]]) -> list[BaseMessage]:
    return [
        HumanMessage(content) if role == "user" else AIMessage(content) for role, content in history
    ]


def generate(
    chat: BaseChatModel,
    question: str,
    lang: Lang,
    passages: Sequence[Passage],
    history: Sequence[tuple[str, str]] = (),
) -> Iterator[str]:
    """Stream the answer's text, token by token."""
    system = load_prompt(f"answer_{lang}").format(sources=format_sources(passages, lang))
    messages = [SystemMessage(system), *_history_messages(history), HumanMessage(question)]
    for chunk in chat.stream(messages):
        if isinstance(chunk.content, str) and chunk.content:
            yield chunk.content


def rewrite_question(
    chat: BaseChatModel, question: str, lang: Lang, history: Sequence[tuple[str, str]]
) -> str:
    """A follow-up rewritten as a standalone question, using the conversation so far."""
    transcript = "\n".join(f"{role}: {content}" for role, content in history[-6:])
    prompt = load_prompt(f"rewrite_{lang}").format(history=transcript, question=question)
    reply = chat.invoke([HumanMessage(prompt)]).content
    rewritten = (
        reply.strip().splitlines()[0].strip() if isinstance(reply, str) and reply.strip() else ""
    )
    return rewritten or question
