"""A realistic fictional municipality as OneRoster 1.2 CSV: ``budstikke demo-data``.

``write_demo_data(out_dir, children=1000, seed=1)`` writes Budstikke Kommune (code
0999, not a real kommunekode): schools with classes 0.–9., daycares with vuggestue
and børnehave rooms, their staff, and the children's families, with split custody,
step and foster parents and protected identities among them. See
:mod:`gateway.roster.demo.columns` for the files and the ``metadata.dk.*`` extensions.
"""

from gateway.roster.demo.summary import DemoSummary
from gateway.roster.demo.writer import write_demo_data

# ``budstikke run`` keeps the summary of the data it loaded beside the CSV files.
SUMMARY_FILE = "summary.json"

__all__ = ("SUMMARY_FILE", "DemoSummary", "write_demo_data")
