"""llmsde: iterative LLM code-refinement studies and their SDE dynamics."""

__version__ = "0.1.0"

