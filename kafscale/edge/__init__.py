"""The Pulumi edge: the component, its inputs, the stack config it reads, and what a change does
to a live stack (change safety)."""
