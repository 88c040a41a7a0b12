"""The counter lab: Netflix's Distributed Counter design, built, loaded and broken locally.

Kept import-free: the CLI and the content model import submodules lazily.
"""
