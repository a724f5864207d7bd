"""Protocol adapters: the contract every adapter implements, bindings, and the runtime."""
