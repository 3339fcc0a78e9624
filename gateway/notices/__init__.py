"""Daycare notices from guardians: sick, off, picked up by someone else."""
