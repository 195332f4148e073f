"""The database tables, one module per domain; import them from here."""

from catalog.models.accounts import Role, User
from catalog.models.attachments import AttachmentBlob, MaterialAttachment
from catalog.models.audit import AuditAction, AuditEvent, AuthEvent, AuthEventKind
from catalog.models.catalog import (
    ApprovalItem,
    CatalogRevision,
    FaqEntry,
    Fee,
    HandlingItem,
    LegalBasis,
    Material,
    ProcessStep,
    SeedLoad,
    enum_column,
    utcnow,
)
from catalog.models.decisions import (  # 双公示 decision records (issue 24)
    CreditRepair,
    LicenceDecision,
    PenaltyDecision,
    PublicationPeriod,
    decision_sums,
)
from catalog.models.drafts import ItemDraft
from catalog.models.imports import ImportMapping
from catalog.models.report_sums import (  # the report's kept sums (catalog.reports.aggregates)
    item_data_digest,
    report_exception,
    report_group_sums,
    report_item_sums,
    report_sums_state,
)
from catalog.models.reports import Snapshot, SnapshotChunk, SnapshotItem, StoredReport
from catalog.models.search import SearchChange, SearchEntry, SearchPart, SearchPosting
from catalog.models.search_learning import FailedQuery, Synonym  # search learning (issue 23)
from catalog.models.throttle import ThrottleCounter
from catalog.models.units import ServiceUnit

__all__ = [
    "ApprovalItem",
    "AttachmentBlob",
    "AuditAction",
    "AuditEvent",
    "AuthEvent",
    "AuthEventKind",
    "CatalogRevision",
    "CreditRepair",
    "FailedQuery",
    "FaqEntry",
    "Fee",
    "HandlingItem",
    "ImportMapping",
    "ItemDraft",
    "LegalBasis",
    "LicenceDecision",
    "Material",
    "MaterialAttachment",
    "PenaltyDecision",
    "ProcessStep",
    "PublicationPeriod",
    "Role",
    "SearchChange",
    "SearchEntry",
    "SearchPart",
    "SearchPosting",
    "SeedLoad",
    "ServiceUnit",
    "Snapshot",
    "SnapshotChunk",
    "SnapshotItem",
    "StoredReport",
    "Synonym",
    "ThrottleCounter",
    "User",
    "decision_sums",
    "enum_column",
    "item_data_digest",
    "report_exception",
    "report_group_sums",
    "report_item_sums",
    "report_sums_state",
    "utcnow",
]  # fmt: skip
