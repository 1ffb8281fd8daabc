"""What people read: run reports, alerts, the terminal views and the HTML preview."""
