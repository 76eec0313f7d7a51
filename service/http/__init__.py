"""HTTP plumbing below every route: body limits, security headers (pure ASGI middlewares)."""
