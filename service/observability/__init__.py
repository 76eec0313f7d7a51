"""What an operator watches: Prometheus metrics, JSON logs and the request id (kernel)."""
