"""2D depiction to SVG and PNG (single molecules and grids), for reports and order sheets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rdkit import Chem
from rdkit.Chem import Draw
from rdkit.Chem.Draw import rdMolDraw2D


def to_svg(mol: Chem.Mol, size: tuple[int, int] = (300, 250), legend: str = "") -> str:
    drawer = rdMolDraw2D.MolDraw2DSVG(*size)
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol, legend=legend)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def to_png(
    mol: Chem.Mol, path: str | Path, size: tuple[int, int] = (300, 250), legend: str = ""
) -> Path:
    drawer = rdMolDraw2D.MolDraw2DCairo(*size)
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol, legend=legend)
    drawer.FinishDrawing()
    path = Path(path)
    path.write_bytes(drawer.GetDrawingText())
    return path


def grid_svg(
    mols: Sequence[Chem.Mol], legends: Sequence[str] | None = None, per_row: int = 4
) -> str:
    return Draw.MolsToGridImage(
        list(mols),
        molsPerRow=per_row,
        subImgSize=(250, 200),
        legends=list(legends or []),
        useSVG=True,
    )
