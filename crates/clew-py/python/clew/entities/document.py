"""``Document``: a retrieved document, the output element of RETRIEVER spans."""

from __future__ import annotations

from copy import deepcopy
from dataclasses import asdict, dataclass, field
from typing import Any, Optional


@dataclass
class Document:
    """A retrieved document.

    Args:
        page_content: the document's text.
        metadata: anything about it (``doc_uri``, ``chunk_id``, scores, ...).
        id: the document's id, if any.
    """

    page_content: str
    metadata: dict = field(default_factory=dict)
    id: Optional[str] = None

    @classmethod
    def from_langchain_document(cls, document: Any) -> "Document":
        return cls(
            page_content=document.page_content,
            metadata=deepcopy(document.metadata),
            id=getattr(document, "id", None),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
