"""Offline: the CLI, Pulumi's mock engine, stack files as the Pulumi CLI reads them, the render,
the adoption steps built from it, and the code generator. No Pulumi CLI and no cluster."""
