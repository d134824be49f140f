"""Molecule generators behind one ask/tell interface, and the optimization loop driving them."""

from drugloop.design.analogs import MMPAnalogs
from drugloop.design.base import GENERATORS, Generator, create_generator
from drugloop.design.fragments import BRICSRecombination, ScaffoldDecoration
from drugloop.design.graph_ga import GraphGA
from drugloop.design.graph_ops import ProductFilter, crossover, mutate
from drugloop.design.loop import DesignProgress, DesignResult, optimize
from drugloop.design.portfolio import Portfolio, default_portfolio
from drugloop.design.reinvent import Reinvent
from drugloop.design.safety import SafetyGuard, UnsafeObjectiveError, check_objective
from drugloop.design.screen import SurrogateScreen

__all__ = [
    "GENERATORS",
    "BRICSRecombination",
    "MMPAnalogs",
    "Portfolio",
    "Reinvent",
    "SafetyGuard",
    "ScaffoldDecoration",
    "SurrogateScreen",
    "UnsafeObjectiveError",
    "check_objective",
    "default_portfolio",
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
