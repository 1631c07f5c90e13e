"""``python -m visionflow.cli``."""

from visionflow.cli import main

main()
