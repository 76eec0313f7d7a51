"""The web front: the phone app at ``/app/`` and the regulators' dashboard at ``/dashboard/``."""
