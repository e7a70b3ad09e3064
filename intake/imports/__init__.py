"""Lead import from a CSV file (a spreadsheet, or another CRM's export).

An admin uploads a file (``reading``: every row sealed as it is read), maps its columns to our
fields (``fields`` guesses first), runs a dry run (``checking``: each row checked by the form's
rules, and what it would do by the form's duplicate rules) and then the import (``importing``:
a batch of rows per transaction, leads and row marks together, so a crash loses nothing and a
re-run makes no lead twice). ``stages`` holds the leases that keep one worker on a job, and the
sweep that resumes a job whose worker vanished; ``report`` what the pages and the error report
show."""
