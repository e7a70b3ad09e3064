"""The demo's invented people and places (``demo``): staff, patient names, where they live and
how they heard of the clinic. Nobody here is real."""

from __future__ import annotations

WEEKDAYS = [0, 1, 2, 3, 4]

# email, name, role, time zone, working hours in that zone
STAFF = [
    ("maria.lopez@demo.example.org", "Maria Lopez", "coordinator", "America/New_York",
     {"days": WEEKDAYS, "start": "08:00", "end": "16:00"}),
    ("dev.patel@demo.example.org", "Dev Patel", "coordinator", "America/Chicago",
     {"days": WEEKDAYS, "start": "09:00", "end": "17:00"}),
    ("jo.kim@demo.example.org", "Jo Kim", "coordinator", "America/Los_Angeles",
     {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}),
    ("sam.okafor@demo.example.org", "Dr Sam Okafor", "clinician", "America/New_York",
     {"days": WEEKDAYS, "start": "09:00", "end": "16:00"}),
]  # fmt: skip

FIRST_NAMES = [
    "Alex", "Sam", "Jordan", "Casey", "Robin", "Morgan", "Jamie", "Taylor", "Priya", "Luis",
    "Grace", "Omar", "Hannah", "Wei", "Fatima", "Daniel", "Chloe", "Mateo", "Aisha", "Ben",
    "Elena", "Kofi", "Ingrid", "Tomás", "Nadia", "Owen", "Leila", "Marcus", "Sofia", "Yuki",
]  # fmt: skip
LAST_NAMES = [
    "Rivera", "Okafor", "Lindqvist", "Moreau", "Takahashi", "Byrne", "Novak", "Haddad",
    "Schmidt", "Nguyen", "Campbell", "Mensah", "Kowalski", "Ortiz", "Fischer", "Reyes",
    "Hughes", "Park", "Silva", "Brennan", "Adeyemi", "Larsen", "Costa", "Walsh",
]  # fmt: skip
PLACES = [
    ("US", "Florida"), ("US", "Florida"), ("US", "Georgia"), ("US", "New York"),
    ("US", "Texas"), ("US", "Texas"), ("US", "California"), ("US", "Ohio"),
    ("US", "Illinois"), ("US", "North Carolina"), ("US", "Virginia"), ("US", "Arizona"),
    ("CA", "Ontario"), ("GB", "England"), ("MX", "Jalisco"),
]  # fmt: skip
# heard_about codes and how often each comes up
SOURCES = {"search": 30, "article": 25, "social": 18, "doctor": 8, "patient_group": 8,
           "friend": 8, "other": 3}  # fmt: skip
