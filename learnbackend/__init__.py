"""learnbackend: an interactive terminal course on backend development."""

__version__ = "0.1.0"
