"""Rules on twin state and predictions that close the loop: commands and alerts."""
