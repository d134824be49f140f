"""Molecule generators behind one ask/tell interface, and the optimization loop driving them."""

from drugloop.design.base import GENERATORS, Generator, create_generator
from drugloop.design.graph_ga import GraphGA
from drugloop.design.graph_ops import ProductFilter, crossover, mutate
from drugloop.design.loop import DesignProgress, DesignResult, optimize

__all__ = [
    "GENERATORS",
    "DesignProgress",
    "DesignResult",
    "Generator",
    "GraphGA",
    "ProductFilter",
    "create_generator",
    "crossover",
    "mutate",
    "optimize",
]
