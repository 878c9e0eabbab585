"""Module-level helpers with the names users know from the newest public mano."""

from __future__ import annotations

from typing import Any

from mano_api._client import BeiweClient

__all__ = ["fetch_accessible_studies", "fetch_study_device_settings", "fetch_users_in_study"]


def fetch_accessible_studies(credentials: object) -> list[tuple[str, str]]:
    """``(name, id)`` of every study the credentials can access, sorted by name.

    Same shape as mano's ``fetch_accessible_studies``.
    """
    with BeiweClient(credentials) as client:
        return [(s.name, s.id) for s in client.studies()]


def fetch_users_in_study(credentials: object, study_id: str) -> list[str]:
    """Every participant id of the study, sorted (``study_id`` may also be a name or prefix)."""
    with BeiweClient(credentials) as client:
        return client.participant_ids(study_id)


def fetch_study_device_settings(credentials: object, study_id: str) -> list[tuple[str, Any]]:
    """``(setting, value)`` pairs of the study's device settings, from the JSON endpoint.

    mano 0.6.0 scraped these from HTML; this reads ``/get-study-settings/v1`` instead.
    """
    with BeiweClient(credentials) as client:
        return list(client.study_settings(study_id).device_settings.items())
