"""Demo data for a first look: invented people and leads (intake demo)."""
