"""The staff calendar (day and week of consults) and each member's private calendar feed."""
