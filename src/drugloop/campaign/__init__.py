"""Campaigns: acquisition, batch selection, simulation and the design–make–test–analyze loop."""
