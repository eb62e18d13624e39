"""Web adapters: REST, GraphQL, OpenAPI, edge (CORS, forwarding), probes, the kernel's own service."""
