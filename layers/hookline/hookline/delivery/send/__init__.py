"""The send: one HTTP attempt (http.py, the only HTTP client), or one NDJSON line to a warehouse destination
(warehouse.py's configuration rules; the Firehose/S3 sink is adapters/aws/sinks.py)."""
