"""Feed readers (file tail, sockets, stdin) and format adapters; they know nothing of metrics."""
