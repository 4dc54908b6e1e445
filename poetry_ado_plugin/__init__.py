"""Azure DevOps Artifacts feeds for Poetry."""
