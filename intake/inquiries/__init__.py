"""Inquiries: starting one, saving each step's answers and consents, finishing, resuming a draft,
re-checking eligibility."""
