"""Terminal presentation: consoles, themes, prompts and renderers."""
