"""Scoping shared by every domain: a regulator sees what belongs to their jurisdiction.

Each domain owns who may read it (``service.custody.scope``, ``service.manifests.service``,
...); this module gives them the one condition they share.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false
from sqlmodel import col, select

from service.auth.actor import Actor
from service.organizations.models import Organization


def in_jurisdiction(actor: Actor, organization_column: object) -> ColumnElement[bool]:
    """``organization_column`` (an organization id column) names an organization of the
    regulator's jurisdiction. For other scoping needs of regulators (anomalies, reports,
    audit)."""
    if actor.jurisdiction is None:
        return false()
    orgs = select(col(Organization.id)).where(Organization.jurisdiction == actor.jurisdiction)
    return col(organization_column).in_(orgs)
