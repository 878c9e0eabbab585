"""The study's side inputs for Forest, saved at the study folder's root on every sync.

Forest's sycamore (survey statistics) needs three JSON files that researchers otherwise download
by hand from the study's settings page: the study settings export (surveys with their schedules,
device settings), the intervention dates and the survey history. They are saved under the names
the Beiwe website gives them, as files at the root of the study folder (Forest treats every
*folder* there as a participant, so never in a folder of their own), refreshed each run: each is
downloaded to a hidden temp file, checked to be one JSON value, then renamed over the old copy.

A server without these endpoints (an older Beiwe) or a failing download never fails the sync: the
previous copy stays and the problem is reported in the result.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SIDE_INPUT_KINDS", "SideInputs", "save_side_inputs", "side_input_names"]

logger = logging.getLogger(__name__)

#: What each file holds, in the order they are fetched.
SIDE_INPUT_KINDS = ("settings", "interventions", "survey_history")
#: Manifest key remembering the names written last (a renamed study leaves no stale copy).
_META_KEY = "side_inputs"
_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]')


@dataclass(frozen=True, slots=True)
class SideInputs:
    """Where the side inputs were written and what could not be refreshed.

    Attributes:
        paths: Kind (``settings``, ``interventions``, ``survey_history``) -> saved file.
        errors: Kind -> one-line reason, for the kinds not refreshed this run.
    """

    paths: dict[str, Path]
    errors: dict[str, str]


def side_input_names(study_id: str, study_name: str) -> dict[str, str]:
    """File names the Beiwe website gives the three downloads (Forest's docs point there).

    The settings export is named after the study (spaces become underscores; characters no file
    system accepts, too); the other two after the study id.
    """
    name = _UNSAFE.sub("_", study_name.replace(" ", "_")).lstrip(".") or study_id
    return {
        "settings": f"{name}_surveys_and_settings.json",
        "interventions": f"{study_id}_intervention_data.json",
        "survey_history": f"{study_id}_surveys_history_data.json",
    }


def _fetch(client: Any, kind: str, study_id: str, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.mano-tmp")
    try:
        if kind == "settings":
            client.study_settings_to_file(study_id, tmp)
        elif kind == "interventions":
            client.interventions_to_file(study_id, tmp)
        else:
            client.survey_history_to_file(study_id, tmp)
        with tmp.open("rb") as fh:
            json.load(fh)  # a cut or garbled body never replaces a good copy
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def save_side_inputs(
    client: Any,
    study_id: str,
    folder: Path,
    manifest: Any | None = None,
    *,
    study_name: str | None = None,
) -> SideInputs:
    """Download the settings, interventions and survey history JSON into ``folder``.

    Args:
        client: An open ``mano_api.BeiweClient``.
        study_id: The study's object id.
        folder: The study folder.
        manifest: The folder's manifest; remembers the names so a renamed study's old copy goes.
        study_name: The study's name (the settings file is named after it); looked up if None.

    Returns:
        The paths written and the kinds that failed (never raises for a server-side failure).
    """
    if study_name is None:
        try:
            study_name = str(client.resolve_study(study_id).name)
        except Exception as exc:
            logger.debug("study name of %s unknown: %s", study_id, exc)
            study_name = study_id
    names = side_input_names(study_id, study_name)
    paths: dict[str, Path] = {}
    errors: dict[str, str] = {}
    for kind in SIDE_INPUT_KINDS:
        target = folder / names[kind]
        try:
            _fetch(client, kind, study_id, target)
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            logger.warning("could not refresh %s: %s", names[kind], reason)
            errors[kind] = reason
            if target.is_file():
                paths[kind] = target
            continue
        paths[kind] = target
    if manifest is not None:
        _forget_old_names(folder, manifest, names)
    return SideInputs(paths=paths, errors=errors)


def _forget_old_names(folder: Path, manifest: Any, names: dict[str, str]) -> None:
    try:
        previous = json.loads(manifest.get_meta(_META_KEY) or "{}")
    except ValueError:
        previous = {}
    for kind, old in previous.items() if isinstance(previous, dict) else ():
        if isinstance(old, str) and old != names.get(kind) and "/" not in old:
            stale = folder / old
            if stale.is_file() and stale.suffix == ".json":
                stale.unlink()
    manifest.set_meta(_META_KEY, json.dumps(names, sort_keys=True))
