"""Whether the scanning organization may act on a container now: the custody checks a scan
meets after the state machine, and the site it names. Each refusal is raised as its type."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from schemas.custody import ScanCreate
from service.auth.actor import Actor
from service.custody.errors import (
    CustodyMismatch,
    ScanManifestNotFound,
    ScanManifestNotOpen,
    ScanRefusal,
    ScanSiteNotFound,
    WrongManifest,
)
from service.custody.machine import Action
from service.custody.models import Container
from service.manifests.models import Manifest, ManifestState
from service.organizations.directory import directory
from service.organizations.models import OrgKind, Site


def custody_refusal(
    session: Session,
    actor: Actor,
    action: Action,
    container: Container,
    manifest: Manifest | None,
) -> ScanRefusal | None:
    """Whether the scanning organization may take ``action`` on ``container`` now: None if
    it may, else the refusal. ``manifest`` is the trip the action belongs to (the pickup's
    manifest; the container's current one for a receipt). The scan and the phone's list of
    possible actions both ask this."""
    org = actor.organization_id

    if action is Action.inspect:
        if actor.is_regulator:
            orgs = directory(session)
            origin = orgs.organization(container.origin_organization_id)
            holder = orgs.organization(container.holder_organization_id)
            jurisdictions = {o.jurisdiction for o in (origin, holder) if o is not None}
            if actor.jurisdiction not in jurisdictions:
                return CustodyMismatch("the container is outside your jurisdiction")
        elif org not in (container.holder_organization_id, container.custodian_organization_id):
            return CustodyMismatch(
                "your organization neither holds nor has custody of this container"
            )
        return None

    if action is Action.pickup:
        if manifest is None or manifest.transporter_organization_id != org:
            return ScanManifestNotFound("no such manifest of your company")
        if manifest.state != ManifestState.open:
            return ScanManifestNotOpen(
                f"the manifest is {manifest.state}; containers join a trip while open"
            )
        if manifest.origin_organization_id != container.holder_organization_id:
            return CustodyMismatch("the container is not held by this manifest's origin")
        return None

    if action is Action.receive:
        if manifest is None or manifest.destination_organization_id != org:
            return CustodyMismatch("your organization is not this container's destination")
        return None

    # collect, store, dispose, report_incident: the organization holding the container.
    if org != container.holder_organization_id:
        return CustodyMismatch("your organization does not hold this container")
    if action is Action.dispose and actor.organization_kind is not OrgKind.disposal:
        return CustodyMismatch("only a disposal plant disposes of waste")
    return None


def current_manifest(session: Session, container: Container) -> Manifest | None:
    return named_manifest(session, container.current_manifest_id)


def named_manifest(
    session: Session, manifest_id: uuid.UUID | None, read: Manifest | None = None
) -> Manifest | None:
    """The manifest ``manifest_id``: ``read`` if it is that one, else looked up."""
    if manifest_id is None:
        return None
    if read is not None and read.id == manifest_id:
        return read
    return session.get(Manifest, manifest_id)


def check_custody(
    session: Session,
    actor: Actor,
    scan: ScanCreate,
    container: Container,
    read: Manifest | None = None,
) -> Manifest | None:
    """Raise the refusal if the scanning organization may not act on the container now.
    Returns the manifest the scan belongs to, if any. ``read``: a manifest read already (the
    scan's trip, read with the container), used if it is the one the scan needs."""
    manifest: Manifest | None = None
    if scan.action is Action.pickup:
        manifest = named_manifest(session, scan.manifest_id, read)
    elif scan.action is Action.receive:
        manifest = named_manifest(session, container.current_manifest_id, read)
    refusal = custody_refusal(session, actor, scan.action, container, manifest)
    if refusal is not None:
        raise refusal
    travels_on = manifest.id if manifest is not None else None
    if scan.action is Action.receive and scan.manifest_id not in (None, travels_on):
        raise WrongManifest("the container travels on another manifest")
    if scan.action in (Action.pickup, Action.receive):
        return manifest
    return None


def check_site(session: Session, actor: Actor, scan: ScanCreate) -> Site | None:
    """The site the scan names, which must be one of the scanner's organization's."""
    if scan.site_id is None:
        return None
    site = directory(session).site(scan.site_id)
    if site is None or site.organization_id != actor.organization_id:
        raise ScanSiteNotFound("the site is not one of your organization's")
    return site
