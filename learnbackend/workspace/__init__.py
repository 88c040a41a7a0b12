"""Learner workspaces: a directory of exercises with a manifest, checked by ``learnbackend check``."""
