"""The production guard: refused before a single request reaches the API server, exit code 3."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from drills.errors import ExitCode, UnsafeTargetError
from drills.safety import ProductionGuard, check_not_production, name_tokens, summarize_body
from drills.targets.base import Component
from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.factory import open_target
from drills.targets.kubernetes.profile import load_profile
from tests.k8s.conftest import PROFILE, seed_cluster, write_profile
from tests.k8s.kube_server import KubeServer

pytestmark = pytest.mark.k8s


@pytest.mark.parametrize(
    "name",
    ["intelgraph-prod", "prod-eu", "production", "Production", "gke_acme_prod01", "eks/prod",
     "arn:aws:eks:eu-west-1:1:cluster/intelgraph-prod", "IntelgraphProd", "prod",
     "prd", "eu-prd-1", "myprod", "intelgraphprod", "gke_acme_myprd02"],
)  # fmt: skip
def test_production_looking_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafeTargetError) as err:
        check_not_production(name, None, allow_production=False)
    message = str(err.value)
    assert repr(name) in message and "--allow-production" in message and "\n" not in message
    assert err.value.exit_code is ExitCode.ABORTED


@pytest.mark.parametrize(
    "name",
    [
        "product-x",
        "reproduce",
        "preprod",
        "nonprod",
        "staging",
        "productivity",
        "intelgraph-staging",
        "prdx",
        "",
    ],
)
def test_names_that_merely_contain_the_letters_pass(name: str) -> None:
    assert check_not_production(name, name or None, allow_production=False) == ()


def test_the_message_names_every_match() -> None:
    with pytest.raises(
        UnsafeTargetError,
        match=r"namespace 'prod-eu' contains 'prod'; context 'production' contains 'production'",
    ):
        check_not_production("prod-eu", "production", allow_production=False)


def test_the_override_returns_what_it_overrode() -> None:
    (match,) = check_not_production("staging", "prod-eu", allow_production=True)
    assert (match.label, match.value, match.token) == ("context", "prod-eu", "prod")


label = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


@given(label, label, st.sampled_from(["prod", "production", "prod2"]), st.sampled_from("-_./:"))
def test_any_prod_token_between_separators_is_caught(
    left: str, right: str, token: str, sep: str
) -> None:
    assert ProductionGuard().matches(namespace=f"{left}{sep}{token}{sep}{right}")


@given(st.from_regex(r"[a-z0-9]{0,8}(prod|prd|production)?[0-9]{0,2}", fullmatch=True))
def test_a_single_token_is_caught_only_if_it_ends_in_the_word(word: str) -> None:
    stem = word.rstrip("0123456789")
    expected = stem.endswith(("prod", "prd", "production")) and not stem.startswith(("pre", "non"))
    assert bool(ProductionGuard().matches(namespace=word)) is expected
    assert name_tokens(word) in ((), (word.rstrip("0123456789"),))


def test_secret_looking_values_are_masked_in_summaries() -> None:
    text = summarize_body(
        {
            "password": "x1",
            "env": [{"name": "API_TOKEN", "value": "x2"}, {"name": "HOST", "value": "db"}],
        }
    )
    assert "x1" not in text and "x2" not in text and '"value":"db"' in text


def test_a_production_namespace_never_reaches_the_server(kube: KubeServer, tmp_path: Path) -> None:
    seed_cluster(kube)
    text = PROFILE.replace("namespace: maestro-staging", "namespace: intelgraph-prod")
    profile = load_profile(write_profile(tmp_path, text))

    with pytest.raises(UnsafeTargetError, match="namespace 'intelgraph-prod' contains 'prod'"):
        KubernetesTarget(profile, kube.api_client())

    assert kube.driver_requests() == []  # not one request, let alone a mutating one


def kubeconfig(path: Path, server: str, context: str, namespace: str = "maestro-staging") -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": context, "cluster": {"server": server}}],
                "users": [{"name": "drills", "user": {"token": "t0ken"}}],
                "contexts": [
                    {
                        "name": context,
                        "context": {"cluster": context, "user": "drills", "namespace": namespace},
                    }
                ],
                "current-context": context,
            }
        )
    )
    return path


def profile_with_kubeconfig(tmp_path: Path, config: Path) -> str:
    return PROFILE.replace(
        "kubernetes: {namespace: maestro-staging}",
        f"kubernetes: {{namespace: maestro-staging, kubeconfig: {config}}}",
    )


def test_a_production_context_from_kubeconfig_is_refused_before_any_request(
    kube: KubeServer, tmp_path: Path
) -> None:
    seed_cluster(kube)
    config = kubeconfig(tmp_path / "kubeconfig", kube.url, "gke_acme_europe-west1_prod-eu")
    profile = load_profile(write_profile(tmp_path, profile_with_kubeconfig(tmp_path, config)))

    with pytest.raises(
        UnsafeTargetError, match="context 'gke_acme_europe-west1_prod-eu' contains 'prod'"
    ):
        open_target(profile)

    assert kube.driver_requests() == []


def test_the_explicit_override_lets_the_drill_through(kube: KubeServer, tmp_path: Path) -> None:
    seed_cluster(kube)
    config = kubeconfig(tmp_path / "kubeconfig", kube.url, "prod-eu")
    profile = load_profile(write_profile(tmp_path, profile_with_kubeconfig(tmp_path, config)))

    target = open_target(profile, allow_production=True)
    target.restart(Component.REDIS, wait=False)

    assert [m.describe() for m in target.gateway.production_override] == [
        "context 'prod-eu' contains 'prod'",
        "cluster 'prod-eu' contains 'prod'",
    ]
    (patch,) = kube.mutating_requests()
    assert patch.headers["Authorization"] == "Bearer t0ken"  # the kubeconfig's credentials
    target.close()


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        ("", "the profile declares no environment"),
        ("environment: production\n", "the profile's environment 'production' is not one of"),
        ("environment: live\n", "the profile's environment 'live' is not one of"),
    ],
)
def test_a_profile_must_declare_a_non_production_environment(
    kube: KubeServer, tmp_path: Path, line: str, refusal: str
) -> None:
    seed_cluster(kube)
    config = kubeconfig(tmp_path / "kubeconfig", kube.url, "staging-eu")
    text = profile_with_kubeconfig(tmp_path, config).replace("environment: staging\n", line)
    profile = load_profile(write_profile(tmp_path, text))
    with pytest.raises(UnsafeTargetError, match=refusal) as err:
        open_target(profile)
    assert "--allow-production" in str(err.value)
    assert kube.driver_requests() == []
    target = open_target(profile, allow_production=True)  # the explicit override still works
    assert [m.label for m in target.gateway.production_override] == []  # names are fine
    target.close()


def test_open_target_uses_the_named_context(kube: KubeServer, tmp_path: Path) -> None:
    seed_cluster(kube)
    config = kubeconfig(tmp_path / "kubeconfig", kube.url, "staging-eu")
    text = profile_with_kubeconfig(tmp_path, config).replace(
        "maestro-staging,", "maestro-staging, context: staging-eu,"
    )
    target = open_target(load_profile(write_profile(tmp_path, text)))
    assert target.identity is not None and target.identity.context == "staging-eu"
    assert target.identity.server == kube.url and not target.identity.in_cluster
    assert target.replicas(Component.CONTROL_PLANE) == 2
    target.close()


def test_a_context_missing_from_kubeconfig_is_a_profile_error(tmp_path: Path) -> None:
    from drills.errors import ProfileError

    config = kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:1", "staging-eu")
    text = profile_with_kubeconfig(tmp_path, config).replace(
        "maestro-staging,", "maestro-staging, context: nope,"
    )
    with pytest.raises(
        ProfileError, match=r"'nope' is not in .*kubeconfig \(contexts: staging-eu\)"
    ):
        open_target(load_profile(write_profile(tmp_path, text)))


def test_without_kubeconfig_or_pod_the_error_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from drills.errors import ProfileError
    from drills.targets.kubernetes.client import connection_for
    from drills.targets.kubernetes.profile import ClusterSettings

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)  # not inside a pod
    # the library reads $KUBECONFIG once, at import: point its default at an empty place
    monkeypatch.setattr(
        "kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", str(tmp_path / "none")
    )
    with pytest.raises(ProfileError, match="cannot use the default kubeconfig"):
        connection_for(ClusterSettings(namespace="maestro-staging"))
