"""The archive as a LangChain retriever, so it drops into LangChain apps."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.models import Filters, Passage
from assistant.retrieve import Retriever

__all__ = ["ArchiveRetriever", "passage_document"]


def passage_document(passage: Passage) -> Document:
    text = "\n\n".join(t for t in (passage.text_zh, passage.text_en) if t)
    return Document(page_content=text, metadata=passage.model_dump(), id=passage.id)


class ArchiveRetriever(BaseRetriever):
    """`ArchiveRetriever(retriever=archive.retriever, k=5).invoke("谁支持降息？")`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    k: int = 8
    filters: Filters = Filters()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        return [passage_document(p) for p in self.retriever.search(query, self.k, self.filters)]
