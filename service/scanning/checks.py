"""Whether the scanning organization may act on a container now: the custody checks a scan
meets after the state machine, and the site it names. Each refusal is raised as its type."""

from __future__ import annotations

from sqlmodel import Session

from schemas.custody import ScanCreate
from service.auth.actor import Actor
from service.custody.errors import (
    CustodyMismatch,
    ScanManifestNotFound,
    ScanManifestNotOpen,
    ScanSiteNotFound,
    WrongManifest,
)
from service.custody.machine import Action
from service.custody.models import Container
from service.manifests.models import Manifest, ManifestState
from service.organizations.directory import directory
from service.organizations.models import OrgKind, Site


def check_custody(
    session: Session, actor: Actor, scan: ScanCreate, container: Container
) -> Manifest | None:
    """Whether the scanning organization may act on the container now. Returns the manifest
    the scan belongs to, if any."""
    org = actor.organization_id
    action = scan.action

    if action is Action.inspect:
        if actor.is_regulator:
            orgs = directory(session)
            origin = orgs.organization(container.origin_organization_id)
            holder = orgs.organization(container.holder_organization_id)
            jurisdictions = {o.jurisdiction for o in (origin, holder) if o is not None}
            if actor.jurisdiction not in jurisdictions:
                raise CustodyMismatch("the container is outside your jurisdiction")
        elif org not in (container.holder_organization_id, container.custodian_organization_id):
            raise CustodyMismatch(
                "your organization neither holds nor has custody of this container"
            )
        return None

    if action is Action.pickup:
        manifest = session.get(Manifest, scan.manifest_id) if scan.manifest_id else None
        if manifest is None or manifest.transporter_organization_id != org:
            raise ScanManifestNotFound("no such manifest of your company")
        if manifest.state != ManifestState.open:
            raise ScanManifestNotOpen(
                f"the manifest is {manifest.state}; containers join a trip while open"
            )
        if manifest.origin_organization_id != container.holder_organization_id:
            raise CustodyMismatch("the container is not held by this manifest's origin")
        return manifest

    if action is Action.receive:
        manifest = (
            session.get(Manifest, container.current_manifest_id)
            if container.current_manifest_id
            else None
        )
        if manifest is None or manifest.destination_organization_id != org:
            raise CustodyMismatch("your organization is not this container's destination")
        if scan.manifest_id is not None and scan.manifest_id != manifest.id:
            raise WrongManifest("the container travels on another manifest")
        return manifest

    # collect, store, dispose, report_incident: the organization holding the container.
    if org != container.holder_organization_id:
        raise CustodyMismatch("your organization does not hold this container")
    if action is Action.dispose and actor.organization_kind is not OrgKind.disposal:
        raise CustodyMismatch("only a disposal plant disposes of waste")
    return None


def check_site(session: Session, actor: Actor, scan: ScanCreate) -> Site | None:
    """The site the scan names, which must be one of the scanner's organization's."""
    if scan.site_id is None:
        return None
    site = directory(session).site(scan.site_id)
    if site is None or site.organization_id != actor.organization_id:
        raise ScanSiteNotFound("the site is not one of your organization's")
    return site
