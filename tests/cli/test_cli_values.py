"""Settings and command-line values that would break a drill are refused at once (issue 9).

On the landed main `DRILLS_SAMPLE_INTERVAL=nan` killed the sampler threads, `DRILLS_BASELINE=inf`
failed after the sandbox had started, `sandbox up --replicas -1` waited 30 s and left servers
running, and `drills schedule --namespace 'Bad_NS!' --image 'x y'` printed invalid manifests.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drills.errors import ExitCode, InputError
from drills.settings import Settings
from drills.targets.kubernetes.names import (
    check_dns_label,
    check_dns_subdomain,
    check_image_reference,
)
from tests.cli.invoke import invoke

BAD_SETTINGS = [
    ("DRILLS_SAMPLE_INTERVAL", "nan"),
    ("DRILLS_SAMPLE_INTERVAL", "inf"),
    ("DRILLS_SAMPLE_INTERVAL", "0"),
    ("DRILLS_SAMPLE_INTERVAL", "1e-9"),
    ("DRILLS_BASELINE", "inf"),
    ("DRILLS_BASELINE", "1e308"),
    ("DRILLS_OBSERVE_AFTER", "-inf"),
    ("DRILLS_CANARY_RATE", "nan"),
    ("DRILLS_CANARY_RATE", "1e12"),
]


@pytest.mark.parametrize(("key", "value"), BAD_SETTINGS)
def test_settings_out_of_range_refuse_the_run_before_it_starts(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    value: str,
) -> None:
    monkeypatch.setenv(key, value)
    done = invoke(capsys, monkeypatch, tmp_path, "run", "complete-outage")
    assert done.code == ExitCode.USAGE, done.stderr
    assert (
        done.line()
        == f"drills: error: {key}={value!r}: must be a number "
        + {
            "DRILLS_SAMPLE_INTERVAL": "from 0.01 to 10",
            "DRILLS_BASELINE": "from 0.1 to 3600",
            "DRILLS_OBSERVE_AFTER": "from 0.1 to 3600",
            "DRILLS_CANARY_RATE": "from 0.1 to 1000",
        }[key]
    )
    assert "sandbox" not in done.stdout + done.stderr  # nothing was started
    assert not (tmp_path / "runs").exists()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "DRILLS_SAMPLE_INTERVAL",
                "DRILLS_CANARY_RATE",
                "DRILLS_BASELINE",
                "DRILLS_OBSERVE_AFTER",
            ]
        ),
        st.text(max_size=12) | st.floats().map(str) | st.integers().map(str),
    )
)
def test_any_setting_is_a_valid_number_or_one_input_error(env: dict[str, str]) -> None:
    try:
        loaded = Settings.from_environ({"DRILLS_HOME": "/x", **env})
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    for value in (loaded.sample_interval_seconds, loaded.canary_rate, loaded.baseline_seconds):
        assert math.isfinite(value) and value > 0


def test_settings_in_range_are_kept() -> None:
    settings = Settings.from_environ(
        {"DRILLS_HOME": "/x", "DRILLS_SAMPLE_INTERVAL": "0.05", "DRILLS_BASELINE": "1"}
    )
    assert settings.sample_interval_seconds == 0.05
    assert settings.baseline_seconds == 1.0


@pytest.mark.parametrize("replicas", ["-1", "0", "17", "x"])
def test_sandbox_up_refuses_bad_replicas_at_once(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    replicas: str,
) -> None:
    state_dir = tmp_path / "box"
    started = time.monotonic()
    done = invoke(
        capsys,
        monkeypatch,
        tmp_path,
        "sandbox",
        "up",
        "--state-dir",
        str(state_dir),
        "--replicas",
        replicas,
    )
    assert done.code == ExitCode.USAGE, done.stderr
    assert "--replicas" in done.stderr
    assert time.monotonic() - started < 5.0  # refused, not waited for
    assert not state_dir.exists()  # nothing started, nothing written


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--namespace", "Bad_NS!"),
        ("--namespace", "drills\nstaging"),
        ("--namespace", "a" * 64),
        ("--image", "x y"),
        ("--image", "drills:1\nkind: Secret"),
        ("--image", "UPPER/case"),
        ("--profile-configmap", "Profile_Map"),
    ],
)
def test_schedule_refuses_invalid_names_and_images(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    option: str,
    value: str,
) -> None:
    args = {"--namespace": "drills-staging", "--image": "drills:1", "--profile-configmap": "p"}
    args[option] = value
    flat = [item for pair in args.items() for item in pair]
    done = invoke(capsys, monkeypatch, tmp_path, "schedule", "--emit", "kubernetes", *flat)
    assert done.code == ExitCode.USAGE, done.stderr
    assert done.line().startswith(f"drills: error: {option} ")
    assert done.stdout == ""


def test_schedule_with_bad_namespace_and_image_as_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    done = invoke(
        capsys,
        monkeypatch,
        tmp_path,
        *("schedule", "--emit", "kubernetes", "--namespace", "Bad_NS!", "--image", "x y"),
    )
    assert done.code == ExitCode.USAGE
    assert "not a valid Kubernetes name" in done.line()


@pytest.mark.parametrize(
    "image",
    [
        "drills",
        "drills:1",
        "registry.example:5000/team/drills:1.2.3",
        "ghcr.io/acme/drills-runner@sha256:" + "a" * 64,
        "localhost/drills_runner__x:latest",
    ],
)
def test_real_image_references_are_accepted(image: str) -> None:
    assert check_image_reference(image) == image


def test_a_profile_namespace_must_be_a_label(tmp_path: Path) -> None:
    from drills.errors import ProfileError
    from drills.targets.kubernetes.profile import parse_profile

    profile = {
        "kind": "kubernetes",
        "name": "x",
        "kubernetes": {"namespace": "drills.staging"},
        "components": {"control-plane": "deployment/api"},
        "services": {"control_plane": "http://127.0.0.1:1"},
    }
    with pytest.raises(ProfileError, match=r"kubernetes\.namespace: namespace 'drills.staging'"):
        parse_profile(profile)


def test_names() -> None:
    assert check_dns_label("drills-staging", "ns") == "drills-staging"
    assert check_dns_subdomain("drills.profile-1", "cm") == "drills.profile-1"
    for bad in ("-x", "x-", "X", "a.b", ""):
        with pytest.raises(InputError):
            check_dns_label(bad, "ns")
