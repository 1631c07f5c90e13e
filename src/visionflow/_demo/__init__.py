"""Sample photos and the demo workflow, shipped with the package for `visionflow demo`."""
