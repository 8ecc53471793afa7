"""Shared infrastructure every domain may import: errors, bus, rpc, jobs, permissions."""
