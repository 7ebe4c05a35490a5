"""`drills schedule --emit kubernetes`: the runbook's cadence as in-cluster CronJobs."""

from __future__ import annotations

from pathlib import Path

import click

from drills.errors import InputError

EMITTERS = ("kubernetes",)


@click.command()
@click.option("--emit", type=click.Choice(EMITTERS), required=True, help="What to print.")
@click.option("--namespace", required=True, help="Namespace the drills run in (staging).")
@click.option("--image", required=True, help="Container image of the drills runner.")
@click.option(
    "--profile",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Target profile: the Role is tailored to it (its objects, by name; its Secrets), and "
    "it is emitted as the ConfigMap the CronJobs mount (secrets stay references).",
)
@click.option("--profile-configmap", default="drills-profile", show_default=True)
@click.option(
    "--pushgateway",
    metavar="URL",
    help="Each scheduled run pushes its results to this Prometheus Pushgateway.",
)
@click.option(
    "--history-secret",
    metavar="SECRET",
    help="Record every run in the team history whose postgresql:// URL is this Secret's"
    " DRILLS_HISTORY key (the history CI pipelines write too); default: SQLite on the volume.",
)
@click.option("--allow-production", is_flag=True, help="Emit for a production-looking namespace.")
def schedule(
    emit: str,
    namespace: str,
    image: str,
    profile: Path | None,
    profile_configmap: str,
    pushgateway: str | None,
    history_secret: str | None,
    allow_production: bool,
) -> None:
    """Print ServiceAccount, least-privilege RBAC and one CronJob per runbook cadence."""
    from drills.schedule import emit_kubernetes, left_out
    from drills.targets.kubernetes import load_profile
    from drills.targets.kubernetes.names import (
        check_dns_label,
        check_dns_subdomain,
        check_image_reference,
    )

    if emit not in EMITTERS:
        raise InputError(f"unknown emitter {emit!r}")
    check_dns_label(namespace, "--namespace")
    check_image_reference(image, "--image")
    check_dns_subdomain(profile_configmap, "--profile-configmap")
    if history_secret is not None:
        check_dns_subdomain(history_secret, "--history-secret")
    loaded = load_profile(profile) if profile is not None else None
    click.echo(
        emit_kubernetes(
            namespace,
            image,
            profile_configmap,
            allow_production=allow_production,
            profile=loaded,
            pushgateway=pushgateway,
            history_secret=history_secret,
        ),
        nl=False,
    )
    for name, reasons in left_out().items():
        click.echo(f"left out {name}: " + "; ".join(reasons), err=True)
