"""The roadmap quiz: questions over the backend roadmap, spaced repetition, mastery map."""
