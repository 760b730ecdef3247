"""Training wiring: the Lightning module, EMA, learning-rate schedule, callbacks, export.

Importing this package imports Lightning (slow); the CLI imports it only for `train`.
"""
