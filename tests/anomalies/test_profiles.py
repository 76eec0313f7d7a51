"""Profiles as configuration: a deployment's own files, and an organization's own profile."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.anomalies import profile as profiles
from service.anomalies.profile import SHIPPED, Profiles, UnknownProfile
from service.anomalies.rules import Kind
from service.auth.roles import Role
from service.config import Settings
from service.organizations.models import OrgKind
from tests.factories import login, make_org, make_user


def test_a_deployment_overrides_a_profile_and_maps_a_jurisdiction(tmp_path: Path) -> None:
    local_profiles = tmp_path
    (local_profiles / "cn-guangdong.toml").write_text(
        'name = "cn-guangdong"\ntitle = "Guangdong"\nextends = "cn-national"\n'
        "[rules.storage_overdue]\nlimit_hours = 24\n",
        encoding="utf-8",
    )
    (local_profiles / "jurisdictions.toml").write_text(
        '[profiles]\n"CN-44" = "cn-guangdong"\n', encoding="utf-8"
    )
    deployment = Profiles.from_settings(
        Settings(profiles_dir=local_profiles, default_profile="cn-national")
    )
    guangdong = deployment.for_jurisdiction("CN-44")
    assert guangdong.name == "cn-guangdong"
    assert guangdong.rule(Kind.storage_overdue).hours() == timedelta(hours=24)
    # Inherited from cn-national, and other provinces keep the national rules.
    assert guangdong.rule(Kind.disposal_overdue).hours() == timedelta(hours=48)
    assert guangdong.epidemic_profile == "cn-epidemic"
    assert deployment.for_jurisdiction("CN-15").rule(Kind.storage_overdue).hours() == timedelta(
        hours=48
    )
    assert "cn-guangdong" in {p.name for p in deployment.all()}
    # The shipped profiles alone know nothing of the deployment's files.
    assert SHIPPED.for_jurisdiction("CN-44").name == "cn-national"
    assert not SHIPPED.exists("cn-guangdong")


def test_a_broken_profile_stops_the_start_not_a_scan(tmp_path: Path) -> None:
    (tmp_path / "cn-broken.toml").write_text(
        'name = "cn-broken"\nextends = "cn-missing"\n', encoding="utf-8"
    )
    with pytest.raises(UnknownProfile):
        Profiles.from_settings(Settings(profiles_dir=tmp_path))
    with pytest.raises(UnknownProfile):
        Profiles.from_settings(Settings(default_profile="mars-2040"))


def test_an_organization_may_have_its_own_profile(client: TestClient, session: Session) -> None:
    admin = login(client, make_user(session, Role.admin))
    body = {"name": "US-run plant", "kind": "disposal", "jurisdiction": "CN-15"}
    made = client.post(
        "/api/v1/organizations", json={**body, "anomaly_profile": "us-rcra"}, headers=admin
    )
    assert made.status_code == 201, made.text
    assert made.json()["anomaly_profile"] == "us-rcra"
    unknown = client.post(
        "/api/v1/organizations", json={**body, "anomaly_profile": "mars-2040"}, headers=admin
    )
    assert unknown.status_code == 422
    assert "mars-2040" in unknown.text

    own = make_org(session, OrgKind.disposal, anomaly_profile="us-rcra")
    plain = make_org(session, OrgKind.disposal)
    assert SHIPPED.of(own).name == "us-rcra"
    assert SHIPPED.of(plain).name == "cn-national"


@pytest.mark.parametrize("name", ["cn-national", "cn-epidemic"])
def test_chinas_profiles_give_their_sources_in_chinese(name: str) -> None:
    """A regulator in China reads each rule's source in Chinese; a threshold no Chinese rule
    sets says it is the operator's choice (运营方选择), and a foreign rule is named only as
    the reference of such a choice."""
    profile = profiles.load_profile(name)
    for kind, rule in profile.rules.items():
        texts = [rule.source, *(str(v) for k, v in rule.values.items() if k.endswith("source"))]
        for text in texts:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text), (kind, text)
            assert "operator choice" not in text, (kind, text)
            if "CFR" in text or "BMW" in text:
                assert text.startswith("运营方选择"), (kind, text)
