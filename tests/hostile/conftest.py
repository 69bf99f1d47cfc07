"""Session fixtures: a real backend process and a registered user (see hostile_support.py)."""



from hostile_support import backend, user  # noqa: F401 - pytest fixtures
