"""What becomes of a message: settle.py writes each outcome (event log, visibility, DLQ), held_back.py those
the guards stopped, retry.py times the retries, deferral.py counts attempts apart from deferrals, results.py
reports each message's status as metrics and a log line."""
