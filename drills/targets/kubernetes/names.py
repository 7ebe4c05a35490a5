"""Kubernetes object names and container image references, checked as the API server would.

A value the API server would reject (`Bad_NS!`), or one that breaks the YAML we print around it (a
newline in a namespace), must stop at the command line with one line, not become a manifest that
fails at `kubectl apply` - or worse, one that applies with a different meaning.
"""

from __future__ import annotations

import re

from drills.errors import InputError

__all__ = ["check_dns_label", "check_dns_subdomain", "check_image_reference"]

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL = re.compile(_LABEL)  # RFC 1123 label: namespaces, services
_DNS_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")  # most object names (ConfigMap, Secret)

# The grammar of docker/distribution's reference package: [domain/]path[:tag][@digest].
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_DOMAIN_RE = re.compile(_DOMAIN, re.ASCII)
_REMAINDER = re.compile(rf"{_PATH_PART}(?:/{_PATH_PART})*(?::{_TAG})?(?:@{_DIGEST})?", re.ASCII)


def _is_image_reference(value: str) -> bool:
    first, slash, rest = value.partition("/")
    # as docker decides it: the first part is a registry only with a '.', a ':' or 'localhost'
    if slash and ("." in first or ":" in first or first == "localhost"):
        return bool(_DOMAIN_RE.fullmatch(first)) and bool(_REMAINDER.fullmatch(rest))
    return bool(_REMAINDER.fullmatch(value))


def check_dns_label(value: str, what: str) -> str:
    """`value` if it is an RFC 1123 label (lower-case alphanumerics and '-', at most 63)."""
    if len(value) > 63 or not _DNS_LABEL.fullmatch(value):
        raise InputError(
            f"{what} {value!r} is not a valid Kubernetes name: lower-case letters, digits and "
            "'-', starting and ending with a letter or digit, at most 63 characters"
        )
    return value


def check_dns_subdomain(value: str, what: str) -> str:
    """`value` if it is an RFC 1123 subdomain (labels joined by '.', at most 253)."""
    if len(value) > 253 or not _DNS_SUBDOMAIN.fullmatch(value):
        raise InputError(
            f"{what} {value!r} is not a valid Kubernetes name: lower-case letters, digits, '-' "
            "and '.', at most 253 characters"
        )
    return value


def check_image_reference(value: str, what: str = "image") -> str:
    """`value` if it is a container image reference (`registry:5000/team/drills:1.2@sha256:...`)."""
    if len(value) > 4096 or not _is_image_reference(value):
        raise InputError(
            f"{what} {value!r} is not a container image reference "
            "(e.g. registry.example/team/drills:1.0)"
        )
    return value
