"""Payment arrangements (instalment plans), pure: see the modules."""
