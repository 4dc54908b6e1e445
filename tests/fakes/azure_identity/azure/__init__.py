"""A fake ``azure`` namespace holding a fake ``azure.identity`` (see identity/__init__.py)."""
