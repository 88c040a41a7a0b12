"""The content model (lessons, exercises), loading, validation, progress and checks."""
