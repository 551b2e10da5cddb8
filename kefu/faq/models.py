"""Tables of the learning FAQ bot: proposals under review and when each store last learnt.

Approved entries themselves are `faq` events in the store's log (the engine's FAQ is
rebuilt from the log like everything else); these tables only hold the review queue.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.storage.models import Base, Id, SeqType


class FaqProposal(Base):
    """A mined FAQ proposal of a store: `doc` is the whole `kefu.faq.learn.Proposal` (JSON)."""

    __tablename__ = "faq_proposals"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    proposal: Mapped[str] = mapped_column(Id)
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    doc: Mapped[str] = mapped_column(Text)
    updated_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (
        UniqueConstraint("store", "proposal", name="uq_faq_proposals_store_proposal"),
        Index("ix_faq_proposals_store_status", "store", "status"),
    )


class FaqLearnRun(Base):
    """When a store last learnt: the compare-and-set that lets one process claim a run."""

    __tablename__ = "faq_learn_runs"
    store: Mapped[str] = mapped_column(Id, primary_key=True)
    last_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    conversations: Mapped[int] = mapped_column(BigInteger, default=0)
    proposals: Mapped[int] = mapped_column(BigInteger, default=0)
