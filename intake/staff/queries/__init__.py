"""Screen-shaped read models: what the queue, the lead page, the dashboard and the admin listings
show, in as few statements as each can."""
