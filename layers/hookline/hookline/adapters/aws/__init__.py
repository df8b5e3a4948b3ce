"""The boto3 adapters of core/ports.py: DynamoDB, SQS, S3 and Firehose."""
