"""Partner apps: registration, secrets, rotation, and the authorizer that checks signed partner requests."""
