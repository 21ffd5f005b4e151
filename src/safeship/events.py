"""Every kind of audit-ledger event, declared once.

The values are what the ledger stores (``<area>.<what>``); ``version.<status>`` exists for
each lifecycle status, ``safety.baseline``/``safety.amendment`` for profiles and
``approval.<outcome>`` for each approval outcome.
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    VERSION_REGISTERED = "version.registered"
    VERSION_VALIDATED = "version.validated"
    VERSION_GATED = "version.gated"
    VERSION_APPROVED = "version.approved"
    VERSION_CANARY = "version.canary"
    VERSION_PRODUCTION = "version.production"
    VERSION_RETIRED = "version.retired"
    VERSION_REJECTED = "version.rejected"

    SAFETY_BASELINE = "safety.baseline"
    SAFETY_AMENDMENT = "safety.amendment"
    GATE_EVALUATED = "gate.evaluated"

    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_ACCEPTED = "approval.accepted"
    APPROVAL_REFUSED = "approval.refused"
    APPROVAL_REJECTED = "approval.rejected"

    DEPLOYMENT_PROMOTED = "deployment.promoted"
    DEPLOYMENT_ROLLED_BACK = "deployment.rolled_back"
    DEPLOYMENT_CANARY = "deployment.canary"
    DEPLOYMENT_CANARY_ABORTED = "deployment.canary_aborted"
    DEPLOYMENT_SHADOW = "deployment.shadow"
    CANARY_STARTED = "canary.started"
    CANARY_ANALYSIS = "canary.analysis"

    RELEASE_BUNDLE = "release.bundle"
    INTEGRITY_FAILED = "integrity.failed"
    MONITOR_ALERT = "monitor.alert"
    DRILL_SEEDED = "drill.seeded"
    DRILL_COMPLETED = "drill.completed"

    GATEWAY_PIN_REFUSED = "gateway.pin_refused"
    GATEWAY_INTEGRITY_REFUSED = "gateway.integrity_refused"
    GATEWAY_LOAD_REFUSED = "gateway.load_refused"

    INCIDENT_OPENED = "incident.opened"
    INCIDENT_NOTED = "incident.noted"
    INCIDENT_RESOLVED = "incident.resolved"

    KEY_CREATED = "key.created"
    KEY_REVOKED = "key.revoked"
    KEY_PINNED = "key.pinned"
