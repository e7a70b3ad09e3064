"""Leads: the pipeline and the work done on a lead, who a lead is (contact details, duplicates,
merges), its timeline, search, export and retention."""
