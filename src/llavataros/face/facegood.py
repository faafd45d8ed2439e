"""Importer of the FACEGOOD Audio2Face capture (116 blendshapes at 30 fps) to ARKit 52.

FACEGOOD's own table (``Voice2Face_blendshape2ARkit.xlsx``, sheet 1: ARKit name, FACEGOOD
expression, status) gives each ARKit channel either one FACEGOOD shape or ``max(a,b,...)``,
the larger of several (e.g. the four funnel quadrants). The table is read at run time from
the data folder with ``zipfile`` and the XML of the sheet (no spreadsheet dependency).

Rows marked ``Invalid`` (eyes, brows, cheeks, nose, tongue) carry no useful values in this
data: the capture was solved for the mouth and jaw only. The importer sets them to 0 and
returns a ``valid`` mask (jaw and mouth, 27 channels) that training and metrics use to ignore
the rest. Names are matched case-insensitively (the table writes ``cheek_up`` and
``browDownleft`` where the name list and Apple write ``cheek_UP`` and ``browDownLeft``); the
table's ``eye_upLidRaise_*`` is the name list's ``eye_upperLidRaise_*``.
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ElementTree
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llavataros.errors import InputError
from llavataros.face.arkit import NUM_BLENDSHAPES, index
from llavataros.face.take import check_face

FPS = 30.0
NAMES_FILE = "shirley_1015_bs_name.npy"
TABLE_FILE = "Voice2Face_blendshape2ARkit.xlsx"
HELD_OUT_CLIP = "1114_2_05"
CLIPS: tuple[str, ...] = tuple(f"1114_2_0{k}" for k in range(1, 6))
_ALIASES = {"eye_uplidraise_l": "eye_upperlidraise_l", "eye_uplidraise_r": "eye_upperlidraise_r"}
_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@dataclass(frozen=True)
class TableRow:
    """One ARKit channel: its name, the FACEGOOD shapes it takes the maximum of, validity."""

    arkit: str
    sources: tuple[str, ...]
    valid: bool


@dataclass(frozen=True)
class FacegoodClip:
    """One clip: 16 kHz wav path, ``weights (T, 52)`` float32 at 30 fps, ``valid (52,)``."""

    name: str
    audio_path: Path
    weights: np.ndarray
    valid: np.ndarray
    fps: float = FPS


def parse_expression(text: str) -> tuple[str, ...]:
    """``"a"`` -> ``("a",)``; ``"max(a,b)"`` -> ``("a", "b")``; empty -> ``()``."""
    text = text.strip()
    if not text:
        return ()
    match = re.fullmatch(r"max\((.*)\)", text)
    parts = match.group(1).split(",") if match else [text]
    return tuple(part.strip() for part in parts if part.strip())


def _sheet_rows(path: Path) -> list[dict[str, str]]:
    """Cell texts of sheet 1 by column letter, one dict per row."""
    try:
        with zipfile.ZipFile(path) as book:
            strings_xml = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
            sheet_xml = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError) as error:
        raise InputError(path, f"not a readable .xlsx workbook ({error})") from None
    strings = [
        "".join(t.text or "" for t in item.iter(f"{_SHEET_NS}t"))
        for item in strings_xml.findall(f"{_SHEET_NS}si")
    ]
    rows = []
    for row in sheet_xml.iter(f"{_SHEET_NS}row"):
        cells = {}
        for cell in row.findall(f"{_SHEET_NS}c"):
            value = cell.find(f"{_SHEET_NS}v")
            if value is None or value.text is None:
                continue
            text = strings[int(value.text)] if cell.get("t") == "s" else value.text
            cells["".join(ch for ch in cell.get("r", "") if ch.isalpha())] = text
        rows.append(cells)
    return rows


def read_arkit_table(path: str | Path) -> tuple[TableRow, ...]:
    """The 52 rows of FACEGOOD's table (ARKit name in column A, expression in C, status in G),
    in the table's order."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "FACEGOOD ARKit table not found")
    result = []
    for cells in _sheet_rows(path):
        name, status = cells.get("A", "").strip(), cells.get("G", "").strip().lower()
        if status not in ("valid", "invalid"):
            continue  # title, header, blank and note rows
        try:
            index(name)
        except KeyError:
            raise InputError(path, f"unknown ARKit name in table: {name!r}") from None
        result.append(TableRow(name, parse_expression(cells.get("C", "")), status == "valid"))
    if sorted(index(row.arkit) for row in result) != list(range(NUM_BLENDSHAPES)):
        raise InputError(
            path, f"table must list each of the 52 ARKit names once, got {len(result)}"
        )
    return tuple(result)


def facegood_to_arkit(
    values: np.ndarray, names: list[str] | tuple[str, ...], table: tuple[TableRow, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """``values (T, 116)`` FACEGOOD weights with column ``names`` -> ``(weights (T, 52)``
    float32 in ARKit order, ``valid (52,)`` bool). Invalid channels are 0. A shape a valid row
    needs but the name list lacks is an error; one only invalid rows need is ignored."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(names):
        raise InputError(None, f"FACEGOOD values must be (T, {len(names)}), got {values.shape}")
    columns = {str(name).lower(): k for k, name in enumerate(names)}
    weights = np.zeros((len(values), NUM_BLENDSHAPES), dtype=np.float32)
    valid = np.zeros(NUM_BLENDSHAPES, dtype=bool)
    for row in table:
        target = index(row.arkit)
        found = [columns.get(_ALIASES.get(s.lower(), s.lower())) for s in row.sources]
        if not row.valid:
            continue
        if not found or None in found:
            missing = [s for s, c in zip(row.sources, found, strict=True) if c is None]
            raise InputError(None, f"{row.arkit}: FACEGOOD shapes {missing or '(none)'} not found")
        weights[:, target] = values[:, found].max(axis=1)
        valid[target] = True
    return check_face(weights), valid


def load_facegood_values(path: str | Path) -> np.ndarray:
    """A ``bs_value_*.npy`` file (saved by Python 2) as float64 ``(T, 116)``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "FACEGOOD weights file not found")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "created on Python 2"
        try:
            values = np.load(path, allow_pickle=False, encoding="latin1")
        except (ValueError, OSError) as error:
            raise InputError(path, f"not a readable .npy array ({error})") from None
    if values.ndim != 2 or not np.all(np.isfinite(values)):
        raise InputError(path, f"expected finite (T, 116) weights, got shape {values.shape}")
    return values.astype(np.float64)


def load_facegood_names(folder: str | Path) -> list[str]:
    """The 116 FACEGOOD shape names in the column order of the ``bs_value`` files."""
    path = Path(folder) / NAMES_FILE
    if not path.is_file():
        raise InputError(path, "FACEGOOD blendshape names not found")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "created on Python 2"
        return [str(n) for n in np.load(path, allow_pickle=False)]


def load_facegood_clip(folder: str | Path, clip: str) -> FacegoodClip:
    """Clip ``clip`` (e.g. ``"1114_2_05"``) of the FACEGOOD folder in our face format."""
    folder = Path(folder)
    names = load_facegood_names(folder)
    table = read_arkit_table(folder / TABLE_FILE)
    values = load_facegood_values(folder / f"bs_value_{clip}.npy")
    weights, valid = facegood_to_arkit(values, names, table)
    audio_path = folder / f"{clip}.wav"
    if not audio_path.is_file():
        raise InputError(audio_path, "FACEGOOD clip audio not found")
    return FacegoodClip(clip, audio_path, weights, valid)
