"""Commands to twins (closed loop): executions recorded as twin state, validated against DTDL."""
