"""The twin graph core: entity model, the one writer, change events. No web or protocol code."""
