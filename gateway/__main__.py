"""``python -m gateway`` is the ``budstikke`` command."""

from gateway.cli import main

main(prog_name="budstikke")
